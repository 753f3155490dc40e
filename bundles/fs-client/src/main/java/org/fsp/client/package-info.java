/** FS Lib: the client library applications link to talk to a running fspd over a private shared-memory channel. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.2.0")
package org.fsp.client;
