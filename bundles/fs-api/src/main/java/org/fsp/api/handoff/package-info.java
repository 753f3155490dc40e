/**
 * The quiesce / hand-off contract of a live upgrade (ARCHITECTURE.md, "Live swap and upgrade"): a layer that stops
 * while the FS process keeps running leaves its state in the {@link org.fsp.api.handoff.HandoffVault} as plain data
 * (records of this package, fs-api and java.* types, never classes of its own bundle), and the layer that starts next
 * takes it from there and carries on. Whoever sees the gap (the layer above, which held requests at its boundary)
 * reports the pause it measured to the vault, and {@code fsp:upgrade} prints it.
 *
 * <p>The sequence for one layer: the upgrade installs the new bundle next to the old one; the old bundle stops (its
 * component stops taking requests, lets in-flight ones finish, {@link org.fsp.api.handoff.HandoffVault#deposit
 * deposits} its state); the new bundle starts (its component {@link org.fsp.api.handoff.HandoffVault#take takes} the
 * state and resumes); the layer above resumes when the new service appears and reports the pause. A new version that
 * fails to start is stopped and the old one started again; it takes the same state back.
 *
 * <p>Make before break (0.2.0): a layer whose new version can wait without touching the shared resources (fs-core)
 * starts the new bundle first; its component stands by in {@link org.fsp.api.handoff.HandoffVault#awaitDeposit} and
 * takes the state the moment the old version deposits it, so the pause holds only the quiesce and the adoption.
 *
 * <p>0.3.0: the FUSE front end ({@link org.fsp.api.handoff.Layer#FUSE}, {@link org.fsp.api.handoff.FuseHandoff}).
 *
 * <p>0.4.0: a bundle names its hand-over method in its manifest ({@link org.fsp.api.handoff.HandoverMethod}), so the
 * upgrade has no per-layer rules.
 *
 * <p>0.5.0: {@link org.fsp.api.handoff.LayerGate}, the one boundary where requests wait while a layer is replaced.
 *
 * <p>0.6.0: {@link org.fsp.api.handoff.FuseHandoff.HeldRequest}, io_uring requests held across an upgrade of ipc-fuse.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.6.0")
package org.fsp.api.handoff;
