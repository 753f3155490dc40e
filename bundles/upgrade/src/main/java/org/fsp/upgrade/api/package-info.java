/**
 * Live upgrades as a service: {@link org.fsp.upgrade.api.LiveUpgrade} does what {@code fsp:upgrade} does and returns
 * an {@link org.fsp.upgrade.api.UpgradeReport}, for tests and tools that drive upgrades without parsing shell text.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.1.0")
package org.fsp.upgrade.api;
