package org.fsp.upgrade.api;

import java.time.Instant;
import java.util.Locale;
import org.fsp.api.handoff.Layer;

/**
 * The outcome of one {@link LiveUpgrade#upgrade}.
 *
 * @param at when the upgrade started
 * @param layer the layer upgraded
 * @param location the jar the new version came from
 * @param fromVersion the version that ran before
 * @param toVersion the version of the jar (for a refused upgrade, as far as known; "-" if unknown)
 * @param outcome what happened
 * @param method {@link #SIDE_BY_SIDE} or {@link #IN_PLACE} ({@code -} when refused)
 * @param detail why it was refused or rolled back, or notes on a success; empty if none
 * @param tookNanos the whole upgrade, from the start to the old version's class loader being released
 * @param pauseNanos the pause the layer above observed at this layer's boundary, or -1 if none was reported in time
 */
public record UpgradeReport(
        Instant at,
        Layer layer,
        String location,
        String fromVersion,
        String toVersion,
        Outcome outcome,
        String method,
        String detail,
        long tookNanos,
        long pauseNanos) {

    /** The new bundle was installed beside the old one, which was uninstalled once the new one was up. */
    public static final String SIDE_BY_SIDE = "side by side";
    /** The same version was already installed: the old bundle was updated from the jar. */
    public static final String IN_PLACE = "in place";

    /** What an upgrade came to. */
    public enum Outcome {
        /** The new version runs and the old one is gone. */
        UPGRADED,
        /** The new version did not come up; it was removed and the old version runs again. */
        ROLLED_BACK,
        /** Nothing was changed (unknown jar, wrong symbolic name, no running bundle for the layer...). */
        REFUSED;

        /** Lower-case, as the shell prints it. */
        public String shellName() {
            return name().toLowerCase(Locale.ROOT).replace('_', ' ');
        }
    }

    /** One line for the shell: {@code fs-core 0.1.0 -> 0.2.0: upgraded in 412 ms (side by side); pause 3.214 ms}. */
    public String summary() {
        StringBuilder sb = new StringBuilder()
                .append(layer.shellName())
                .append(' ')
                .append(fromVersion)
                .append(" -> ")
                .append(toVersion)
                .append(": ")
                .append(outcome.shellName());
        if (outcome != Outcome.REFUSED) {
            sb.append(" in ")
                    .append(millis(tookNanos))
                    .append(" (")
                    .append(method)
                    .append(')');
            sb.append("; pause ").append(pauseNanos < 0 ? "not reported" : millis(pauseNanos));
        }
        if (!detail.isEmpty()) {
            sb.append(outcome == Outcome.UPGRADED ? "; " : ": ").append(detail);
        }
        return sb.toString();
    }

    /** Nanoseconds as milliseconds with three decimals, e.g. {@code 3.214 ms}. */
    public static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
    }
}
