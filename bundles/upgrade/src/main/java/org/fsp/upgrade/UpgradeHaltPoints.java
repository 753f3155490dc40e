package org.fsp.upgrade;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Named points inside a live upgrade where fault-injection tests make fspd die as a SIGKILL would, with the setting
 * fs-core's and the FUSE front end's halt points use: {@code -Dfsp.test.haltAt=<point>[:<n>]} halts the JVM
 * ({@link Runtime#halt}) the n-th time (default 1) the point is reached. Unset, {@link #reach} is a test of a
 * constant. Only tests set it.
 *
 * <ul>
 *   <li>{@value #INSTALLED}: the new bundle is installed beside the old one, resolved and its classes loaded;
 *   <li>{@value #NEW_STARTED}: the new bundle has started (beside the serving one, or after it stopped);
 *   <li>{@value #DEPOSITED}: a layer's state is in the hand-off vault, not yet taken (the old version has quiesced);
 *   <li>{@value #BEFORE_UNINSTALL}: the new version serves, the old bundle is not uninstalled yet.
 * </ul>
 */
final class UpgradeHaltPoints {

    static final String INSTALLED = "upgrade-installed";
    static final String NEW_STARTED = "upgrade-new-started";
    static final String DEPOSITED = "upgrade-deposited";
    static final String BEFORE_UNINSTALL = "upgrade-before-uninstall";

    private static final String SETTING = System.getProperty("fsp.test.haltAt", "");
    private static final String POINT = SETTING.isEmpty() ? null : SETTING.split(":")[0];
    private static final int NTH = SETTING.contains(":") ? Integer.parseInt(SETTING.split(":")[1]) : 1;
    private static final AtomicInteger REACHED = new AtomicInteger();

    private UpgradeHaltPoints() {}

    static void reach(String point) {
        if (POINT != null && POINT.equals(point) && REACHED.incrementAndGet() == NTH) {
            // Straight to the process's stderr: an upgrade runs in a shell session, whose System.err is the
            // session's (Gogo's ThreadIO), which the halt would cut off.
            try {
                FileOutputStream err = new FileOutputStream(FileDescriptor.err);
                err.write(("fsp.test.haltAt: halting at " + point + "\n").getBytes(StandardCharsets.UTF_8));
                err.flush();
            } catch (IOException e) {
                // the halt is what matters
            }
            Runtime.getRuntime().halt(137);
        }
    }
}
