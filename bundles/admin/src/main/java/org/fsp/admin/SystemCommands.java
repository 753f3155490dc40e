package org.fsp.admin;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.fsp.api.launch.FrameworkProperties;
import org.fsp.api.status.StatusContributor;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * {@code fsp:status} (the whole live system on one page, with the restarts when a supervisor runs fspd) and {@code fsp:shutdown} (a clean stop: every layer
 * deactivates in order, the file system flushes and marks itself clean).
 */
@Component(
        service = SystemCommands.class,
        property = {"osgi.command.scope=fsp", "osgi.command.function=status", "osgi.command.function=shutdown"})
public final class SystemCommands {

    /** Bundles whose symbolic names start with this are FSP's own layers. */
    static final String FSP_BUNDLE_PREFIX = "org.fsp.";

    private final List<StatusContributor> contributors = new CopyOnWriteArrayList<>();
    private BundleContext context;
    private long startedAtMillis;

    @Reference(
            cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addContributor(StatusContributor c) {
        contributors.add(c);
    }

    void removeContributor(StatusContributor c) {
        contributors.remove(c);
    }

    @Activate
    void activate(BundleContext context) {
        this.context = context;
        this.startedAtMillis = ProcessHandle.current()
                .info()
                .startInstant()
                .map(java.time.Instant::toEpochMilli)
                .orElse(System.currentTimeMillis());
    }

    /** Describes the live system: device, sockets, layers and their versions, each layer's own status. */
    public String status() {
        StringBuilder sb = new StringBuilder();
        long pid = ProcessHandle.current().pid();
        Duration up = Duration.ofMillis(Math.max(0, System.currentTimeMillis() - startedAtMillis));
        sb.append(String.format("FSP  pid %d  up %s%n", pid, formatDuration(up)));
        row(
                sb,
                "device",
                orDash(context.getProperty(FrameworkProperties.DEVICE_PATH)) + "  (driver "
                        + orDash(context.getProperty(FrameworkProperties.DEVICE_DRIVER)) + ")");
        row(sb, "client socket", orDash(context.getProperty(FrameworkProperties.SOCKET_PATH)));
        row(sb, "admin socket", orDash(context.getProperty(FrameworkProperties.ADMIN_SOCKET_PATH)));
        supervisorSection(sb, context::getProperty);
        sb.append(String.format("%nlayers%n"));
        for (Bundle b : fspBundles()) {
            sb.append(String.format(
                    "  %-24s %-28s %s%n",
                    b.getSymbolicName().substring(FSP_BUNDLE_PREFIX.length()),
                    b.getVersion(),
                    stateName(b.getState())));
        }
        List<StatusContributor> sections = new ArrayList<>(contributors);
        sections.sort(Comparator.comparingInt(StatusContributor::order).thenComparing(StatusContributor::section));
        for (StatusContributor c : sections) {
            sb.append(String.format("%n%s%n", c.section()));
            try {
                for (Map.Entry<String, Object> e : c.status().entrySet()) {
                    sb.append(String.format("  %-22s %s%n", e.getKey(), e.getValue()));
                }
            } catch (RuntimeException e) {
                sb.append("  (unavailable: ").append(e).append(")\n");
            }
        }
        return sb.toString();
    }

    /** Stops fspd cleanly, as SIGTERM does. */
    public String shutdown() {
        Bundle system = context.getBundle(0);
        Thread.ofPlatform().name("fsp-shutdown").start(() -> {
            try {
                system.stop();
            } catch (BundleException e) {
                throw new IllegalStateException(e);
            }
        });
        return "fspd is stopping";
    }

    /**
     * The {@code supervisor} section when fspd runs under {@code bin/fspd --supervise}: the supervisor's pid, how many
     * times a dead fspd was replaced, why the last one ended and how long from its death until this one served. The
     * supervised launcher sets these as system properties when it takes over, which {@code getProperty} reads.
     */
    static void supervisorSection(StringBuilder sb, Function<String, String> property) {
        String pid = property.apply(FrameworkProperties.SUPERVISOR_PID);
        if (pid == null) {
            return;
        }
        sb.append(String.format("%nsupervisor%n"));
        row(sb, "pid", pid);
        String restarts = property.apply(FrameworkProperties.SUPERVISOR_RESTARTS);
        row(sb, "restarts", restarts == null ? "0" : restarts);
        if (restarts != null) {
            row(sb, "last cause", orDash(property.apply(FrameworkProperties.SUPERVISOR_LAST_CAUSE)));
            String millis = property.apply(FrameworkProperties.SUPERVISOR_LAST_RECOVERY_MILLIS);
            row(sb, "last recovery", millis == null ? "-" : millis + " ms from the death to serving");
            String phases = property.apply(FrameworkProperties.SUPERVISOR_LAST_PHASES);
            if (phases != null && !phases.isEmpty()) {
                row(sb, "take-over phases", phases);
            }
        }
    }

    List<Bundle> fspBundles() {
        List<Bundle> list = new ArrayList<>();
        for (Bundle b : context.getBundles()) {
            if (b.getSymbolicName() != null && b.getSymbolicName().startsWith(FSP_BUNDLE_PREFIX)) {
                list.add(b);
            }
        }
        list.sort(Comparator.comparing(Bundle::getSymbolicName));
        return list;
    }

    private static void row(StringBuilder sb, String key, String value) {
        sb.append(String.format("  %-22s %s%n", key, value));
    }

    private static String orDash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }

    static String formatDuration(Duration d) {
        return String.format("%dh %02dm %02ds", d.toHours(), d.toMinutesPart(), d.toSecondsPart());
    }

    static String stateName(int state) {
        return switch (state) {
            case Bundle.ACTIVE -> "Active";
            case Bundle.RESOLVED -> "Resolved";
            case Bundle.INSTALLED -> "Installed";
            case Bundle.STARTING -> "Starting";
            case Bundle.STOPPING -> "Stopping";
            default -> "Uninstalled";
        };
    }
}
