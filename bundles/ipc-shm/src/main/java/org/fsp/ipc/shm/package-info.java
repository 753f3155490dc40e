/** shared-memory channels to clients */
package org.fsp.ipc.shm;
