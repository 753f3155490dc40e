/** operator interface: fsp shell commands and the admin socket */
package org.fsp.admin;
