/**
 * A {@code java.nio.file} provider over FS Lib, so that Java programs written against {@code Path}, {@code Files} and
 * {@code FileChannel} run on FSP unchanged: {@link org.fsp.client.nio.FspFileSystemProvider} (scheme {@code fsp}) for
 * code that asks for FSP by URI, and {@link org.fsp.client.nio.FspDefaultFileSystemProvider} to install as the JVM's
 * default provider so that paths under a prefix ({@code /fsp}) go to FSP and all others to the platform. The design is
 * described in {@link org.fsp.client.nio.FspFileSystem}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.1.0")
package org.fsp.client.nio;
