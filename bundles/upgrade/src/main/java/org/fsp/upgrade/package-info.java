/**
 * Live upgrades of the storage stack's layers: the {@link org.fsp.api.handoff.HandoffVault} that keeps a stopping
 * layer's state for its successor ({@link org.fsp.upgrade.HandoffVaultComponent}), and {@code fsp:upgrade} /
 * {@code fsp:upgrades} ({@link org.fsp.upgrade.LiveUpgradeComponent}), which install a layer's new version beside the
 * old one, swap them with one pause, and roll back a version that does not come up.
 */
package org.fsp.upgrade;
