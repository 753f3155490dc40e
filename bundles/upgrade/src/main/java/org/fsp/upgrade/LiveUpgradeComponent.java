package org.fsp.upgrade;

import java.nio.file.Path;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.fsp.api.handoff.Layer;
import org.fsp.api.status.StatusContributor;
import org.fsp.upgrade.api.LiveUpgrade;
import org.fsp.upgrade.api.UpgradeReport;
import org.fsp.upgrade.api.UpgradeReport.Outcome;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code fsp:upgrade <layer> <jar-url>} and {@code fsp:upgrades}, the same as the {@link LiveUpgrade} service, and the
 * {@code "upgrades"} section of {@code fsp:status} (order 90). Upgrades run one at a time; each is an
 * {@link UpgradeAttempt}, which hands over as the new bundle's manifest says ({@link Handover}) and rolls back a
 * version that does not come up within {@link Config#verifyTimeoutMillis()}.
 */
@Component(
        immediate = true,
        configurationPid = LiveUpgradeComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {LiveUpgrade.class, StatusContributor.class, LiveUpgradeComponent.class},
        property = {"osgi.command.scope=fsp", "osgi.command.function=upgrade", "osgi.command.function=upgrades"})
@Designate(ocd = LiveUpgradeComponent.Config.class)
public final class LiveUpgradeComponent implements LiveUpgrade, StatusContributor {

    /** Configuration PID. */
    public static final String PID = "org.fsp.upgrade";

    private static final Logger LOG = LoggerFactory.getLogger(LiveUpgradeComponent.class);
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

    /** The upgrade's configuration. */
    @ObjectClassDefinition(name = "FSP live upgrade", description = "upgrade: fsp:upgrade and its rollback")
    public @interface Config {

        @AttributeDefinition(
                description = "Milliseconds a new version has to bring its components up and register the "
                        + "layer's service before it is rolled back")
        long verifyTimeoutMillis() default 10_000;

        @AttributeDefinition(
                description = "Milliseconds to wait, after the new version is up, for the layer above to "
                        + "report the pause it saw")
        long pauseWaitMillis() default 2_000;

        @AttributeDefinition(description = "Upgrades remembered for fsp:upgrades")
        int historySize() default 100;
    }

    @Reference
    private ServiceComponentRuntime scr;

    @Reference
    private HandoffVaultComponent vault;

    private BundleContext context;
    private volatile Config config;
    /** Guarded by itself. */
    private final ArrayDeque<UpgradeReport> history = new ArrayDeque<>();

    @Activate
    void activate(BundleContext context, Config config) {
        this.context = context;
        this.config = config;
    }

    @Modified
    void modified(Config config) {
        this.config = config;
    }

    /** {@code fsp:upgrade <layer> <jar-url>}: one line saying what happened; a rolled-back or refused upgrade fails. */
    public String upgrade(String layer, String location) {
        UpgradeReport report = upgrade(Layer.byShellName(layer), location);
        if (report.outcome() != Outcome.UPGRADED) {
            // A failed upgrade is a failed command: the shell prints it on stderr and bin/fsp exits 1.
            throw new IllegalStateException(report.summary());
        }
        return report.summary();
    }

    /** {@code fsp:upgrades}: every upgrade since fspd started, then the last pauses each layer reported. */
    public String upgrades() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                "%-19s  %-13s  %-40s  %-11s  %12s  %12s%n", "time", "layer", "from -> to", "result", "took", "pause"));
        for (UpgradeReport r : history()) {
            sb.append(historyLine(r));
        }
        sb.append(String.format("%npauses reported by the layer above, last 5 per layer%n"));
        for (Layer layer : Layer.values()) {
            List<ExpiringHandoffVault.Pause> pauses = vault.pauses(layer);
            List<String> last = new ArrayList<>();
            for (ExpiringHandoffVault.Pause p : pauses.subList(Math.max(0, pauses.size() - 5), pauses.size())) {
                last.add(UpgradeReport.millis(p.pauseNanos()));
            }
            sb.append(
                    String.format("  %-13s  %s%n", layer.shellName(), last.isEmpty() ? "-" : String.join(", ", last)));
        }
        return sb.toString();
    }

    static String historyLine(UpgradeReport r) {
        return String.format(
                "%-19s  %-13s  %-40s  %-11s  %12s  %12s%n",
                TIME.format(r.at()),
                r.layer().shellName(),
                r.fromVersion() + " -> " + r.toVersion(),
                r.outcome().shellName(),
                r.outcome() == Outcome.REFUSED ? "-" : UpgradeReport.millis(r.tookNanos()),
                r.pauseNanos() < 0 ? "-" : UpgradeReport.millis(r.pauseNanos()));
    }

    @Override
    public List<UpgradeReport> history() {
        synchronized (history) {
            return List.copyOf(history);
        }
    }

    @Override
    public String section() {
        return "upgrades";
    }

    @Override
    public int order() {
        return 90;
    }

    @Override
    public Map<String, Object> status() {
        Map<String, Object> status = new LinkedHashMap<>();
        List<UpgradeReport> all = history();
        status.put("upgrades", all.size());
        for (UpgradeReport r : all.subList(Math.max(0, all.size() - 3), all.size())) {
            status.put("at " + TIME.format(r.at()), r.summary());
        }
        Map<Layer, String> deposits = vault.deposits();
        status.put("vault", deposits.isEmpty() ? "empty" : deposits.toString());
        return status;
    }

    @Override
    public synchronized UpgradeReport upgrade(Layer layer, String location) {
        Config c = config;
        UpgradeAttempt a = new UpgradeAttempt(
                layer,
                toUrl(location),
                context,
                new BundleInstaller(context, c.verifyTimeoutMillis()),
                new ScrReadiness(scr, context, layer, c.verifyTimeoutMillis()),
                vault,
                c.pauseWaitMillis());
        UpgradeReport report;
        try {
            report = a.run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            report = a.report(Outcome.REFUSED, -1, "interrupted");
        }
        LOG.info("fsp:upgrade {}", report.summary());
        synchronized (history) {
            if (history.size() >= Math.max(1, config.historySize())) {
                history.removeFirst();
            }
            history.addLast(report);
        }
        return report;
    }

    /** A plain path becomes a file URL; anything with a scheme is taken as it is. */
    static String toUrl(String location) {
        String s = location.trim();
        if (s.startsWith("/") || s.startsWith(".")) {
            return Path.of(s).toAbsolutePath().normalize().toUri().toString();
        }
        return s;
    }
}
