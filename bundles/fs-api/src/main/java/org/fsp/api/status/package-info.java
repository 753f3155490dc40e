/** What each layer tells operators: status sections for {@code fsp:status} and the other shell commands. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.1.0")
package org.fsp.api.status;
