package org.fsp.bench.upgrade;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The daemon's one-line answer to {@code fsp:upgrade <layer> <jar-url>} (the upgrade bundle's
 * {@code UpgradeReport.summary()}), e.g. {@code fs-core 0.1.0.X -> 0.2.0.Y: upgraded in 412.000 ms (side by side);
 * pause 3.214 ms}.
 *
 * @param line the reply line as printed
 * @param layer the layer's shell name
 * @param fromVersion the version that ran before
 * @param toVersion the version of the jar
 * @param outcome {@code upgraded}, {@code rolled back} or {@code refused}
 * @param method {@code side by side} or {@code in place}; empty when refused
 * @param tookNanos the whole upgrade as the daemon measured it; -1 when refused
 * @param pauseNanos the pause the layer above reported; -1 when not reported (or refused)
 */
record UpgradeReply(
        String line,
        String layer,
        String fromVersion,
        String toVersion,
        String outcome,
        String method,
        long tookNanos,
        long pauseNanos) {

    private static final Pattern SUMMARY = Pattern.compile("(\\S+) (\\S+) -> (\\S+): (upgraded|rolled back|refused)"
            + "(?: in ([0-9.]+) ms \\(([^)]*)\\); pause (?:not reported|([0-9.]+) ms))?.*");

    /** The first summary line of a shell reply; an IllegalArgumentException quoting the reply if there is none. */
    static UpgradeReply parse(String reply) {
        for (String line : reply.split("\\R")) {
            Matcher m = SUMMARY.matcher(line.strip());
            if (m.matches()) {
                return new UpgradeReply(
                        line.strip(),
                        m.group(1),
                        m.group(2),
                        m.group(3),
                        m.group(4),
                        m.group(6) == null ? "" : m.group(6),
                        nanos(m.group(5)),
                        nanos(m.group(7)));
            }
        }
        throw new IllegalArgumentException("no upgrade summary in the reply: " + reply.strip());
    }

    boolean upgraded() {
        return outcome.equals("upgraded");
    }

    private static long nanos(String millis) {
        return millis == null ? -1 : Math.round(Double.parseDouble(millis) * 1e6);
    }
}
