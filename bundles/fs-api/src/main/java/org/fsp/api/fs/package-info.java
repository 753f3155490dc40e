/**
 * The file-system contract: {@link org.fsp.api.fs.FileSystemService}, the credentials every call carries, the errno
 * codes failures carry, and the plain data types that cross between layers.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.7.0")
package org.fsp.api.fs;
