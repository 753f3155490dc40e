/**
 * The operator's interface to a running fspd: the {@code fsp:} Gogo commands that describe the whole system
 * ({@code fsp:status}, {@code fsp:shutdown}) and the admin socket through which {@code bin/fsp shell} reaches the Gogo
 * shell, for the daemon's user and root only.
 */
package org.fsp.admin;
