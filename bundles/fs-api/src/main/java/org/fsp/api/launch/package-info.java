/** What the launcher tells the layers: the framework properties bin/fspd sets from its command line. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.1.0")
package org.fsp.api.launch;
