/** FSP mounted through FUSE: the kernel protocol over /dev/fuse, served onto the FileSystemService */
package org.fsp.ipc.fuse;
