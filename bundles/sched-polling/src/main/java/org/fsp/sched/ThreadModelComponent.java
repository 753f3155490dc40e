package org.fsp.sched;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.fsp.api.handoff.HandoverMethod;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategyKind;
import org.fsp.api.sched.ThreadModel;
import org.fsp.api.status.StatusContributor;
import org.fsp.linux.CpuAffinity;
import org.osgi.annotation.bundle.Header;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the {@link PollingThreadModel} as the {@link ThreadModel} service, its {@code "threads"} section of
 * {@code fsp:status} (order 40) and the Gogo command {@code fsp:sched} (this object, through the {@code osgi.command.*}
 * service properties). A changed configuration ({@code conf/org.fsp.sched.cfg}) is applied live, in one pause.
 *
 * <p>Every {@link Config#rebalanceMillis()} a rebalancer thread moves an agent from an overloaded worker to the least
 * loaded one ({@link PollingThreadModel#rebalance}); each move is a swap like any other, with its pause recorded.
 * With {@code workers=0} (the default) the same thread is the load manager: every {@link Config#loadManagerMillis()}
 * it adds or removes a worker by the measured load ({@link PollingThreadModel#scale}), between one and
 * {@link Config#maxWorkers()}, so the default fits 2 cores as well as 64.
 */
@Header(name = HandoverMethod.HEADER, value = "make-before-break")
@Component(
        immediate = true,
        configurationPid = ThreadModelComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {ThreadModel.class, StatusContributor.class, ThreadModelComponent.class},
        property = {"osgi.command.scope=fsp", "osgi.command.function=sched"})
@Designate(ocd = ThreadModelComponent.Config.class)
public final class ThreadModelComponent implements ThreadModel, StatusContributor {

    /** Configuration PID. */
    public static final String PID = "org.fsp.sched";
    /** System property that overrides {@link Config#pinWorkers()} (e.g. for an A/B in FSP_OPTS). */
    public static final String PIN_WORKERS_PROPERTY = "fsp.sched.pinWorkers";

    /** The thread model's configuration. */
    @ObjectClassDefinition(
            name = "FSP thread model",
            description =
                    "sched-polling: polling worker threads that drive the layers' agents, and their idle strategy")
    public @interface Config {

        @AttributeDefinition(
                description = "Worker threads (1..64); 0 = managed by load, from 1 up to maxWorkers (the load "
                        + "manager adds a worker when every worker is busy and removes one when the others could "
                        + "carry the load)")
        int workers() default 0;

        @AttributeDefinition(
                description = "With workers=0: the most worker threads the load manager starts (0 = half the "
                        + "available cores, at least 1: the other half is the clients')")
        int maxWorkers() default 0;

        @AttributeDefinition(
                description = "Pin each worker to a CPU of its own (the highest free ones, always leaving the clients "
                        + "at least one) and publish them to clients, whose threads then keep off those CPUs")
        boolean pinWorkers() default true;

        @AttributeDefinition(description = "With workers=0: how often the load manager looks at the load, milliseconds")
        long loadManagerMillis() default 100;

        @AttributeDefinition(
                description = "spin (lowest latency), backoff (spin, yield, park) or futex (spin, yield, "
                        + "sleep on the lanes' doorbells: near-zero idle CPU)")
        String idleStrategy() default "futex";

        @AttributeDefinition(description = "Busy-spin rounds of an idle worker before it yields (backoff, futex)")
        int idleSpins() default 20_000;

        @AttributeDefinition(description = "Yields of an idle worker before it parks (backoff) or sleeps (futex)")
        int idleYields() default 50;

        @AttributeDefinition(description = "Longest futex sleep, microseconds (backoff parks at most 1000)")
        long maxSleepMicros() default 100_000;

        @AttributeDefinition(
                description = "What a worker does while one of its agents waits on a device (an fsync): handoff "
                        + "(its other agents go to a stand-in thread meanwhile, so their ready requests are served) "
                        + "or inline (the paper's synchronous polling: they wait)")
        String deviceWait() default "handoff";

        @AttributeDefinition(
                description = "How often the load of the workers is compared, milliseconds (0: never "
                        + "move agents between workers)")
        long rebalanceMillis() default 1_000;

        @AttributeDefinition(
                description = "Utilisation difference, in percent of wall time, between the busiest and "
                        + "the least busy worker above which an agent moves")
        int rebalanceThresholdPercent() default 25;
    }

    private static final Logger LOG = LoggerFactory.getLogger(ThreadModelComponent.class);

    private volatile PollingThreadModel model;
    private final ScheduledExecutorService rebalancer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("fsp-sched-rebalancer").factory());
    /** Guarded by this. */
    private ScheduledFuture<?> rebalancing;
    /** The load manager's periodic step while workers=0; guarded by this. */
    private ScheduledFuture<?> managing;

    @Activate
    void activate(Config config) {
        model = new PollingThreadModel(
                workerCount(config),
                IdleStrategyKind.parse(config.idleStrategy()),
                settings(config),
                parseDeviceWait(config.deviceWait()),
                workerCpus(config));
        scheduleRebalancing(config);
    }

    /**
     * The CPUs the workers may pin themselves to: the process's CPUs when {@link Config#pinWorkers()}, which a
     * framework property {@value #PIN_WORKERS_PROPERTY} (true or false) overrides, else none.
     */
    static WorkerCpus workerCpus(Config config) {
        String property = System.getProperty(PIN_WORKERS_PROPERTY);
        boolean pin = property != null ? Boolean.parseBoolean(property) : config.pinWorkers();
        return pin ? new WorkerCpus(CpuAffinity.current()) : WorkerCpus.off();
    }

    /** The configured worker count, or 1 to start with when the load manager decides (workers=0). */
    static int workerCount(Config config) {
        return config.workers() > 0 ? config.workers() : 1;
    }

    /**
     * The most workers the load manager starts: by default half the cores, because polling workers compete with the
     * clients' own threads for the same cores (on a 2-core machine two workers made 2-thread clients 18x slower than
     * one worker did, fsp bench channel, p99 1.4 ms against 5.6 us).
     */
    static int maxWorkers(Config config) {
        int max = config.maxWorkers() > 0
                ? config.maxWorkers()
                : Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
        return Math.min(max, PollingThreadModel.MAX_WORKERS);
    }

    /** Utilisation above which every worker must be for the load manager to add one. */
    static final double ADD_ABOVE = 0.75;
    /** The others' utilisation each, had they carried the whole load, below which a worker is removed. */
    static final double REMOVE_BELOW = 0.5;
    /** Load-manager steps in a row the load must stay that low before a worker goes: against flapping. */
    static final int CALM_STEPS = 10;

    @Modified
    void modified(Config config) {
        // pinWorkers takes effect at the next activation: workers already pinned stay so.
        model.configure(
                workerCount(config),
                IdleStrategyKind.parse(config.idleStrategy()),
                settings(config),
                parseDeviceWait(config.deviceWait()));
        scheduleRebalancing(config);
    }

    @Deactivate
    void deactivate() {
        rebalancer.shutdownNow();
        model.close();
    }

    private synchronized void scheduleRebalancing(Config config) {
        if (rebalancing != null) {
            rebalancing.cancel(false);
            rebalancing = null;
        }
        if (managing != null) {
            managing.cancel(false);
            managing = null;
        }
        if (config.workers() == 0 && config.loadManagerMillis() > 0) {
            int max = maxWorkers(config);
            managing = rebalancer.scheduleWithFixedDelay(
                    () -> {
                        try {
                            model.scale(max, ADD_ABOVE, REMOVE_BELOW, CALM_STEPS);
                        } catch (RuntimeException e) {
                            LOG.warn("load manager step failed; it goes on", e);
                        }
                    },
                    config.loadManagerMillis(),
                    config.loadManagerMillis(),
                    TimeUnit.MILLISECONDS);
        }
        long period = config.rebalanceMillis();
        if (period > 0) {
            double threshold = config.rebalanceThresholdPercent() / 100.0;
            rebalancing = rebalancer.scheduleWithFixedDelay(
                    () -> model.rebalance(threshold), period, period, TimeUnit.MILLISECONDS);
        }
    }

    private static IdleSettings settings(Config config) {
        return new IdleSettings(config.idleSpins(), config.idleYields(), config.maxSleepMicros() * 1_000);
    }

    @Override
    public void attach(Agent agent) {
        model.attach(agent);
    }

    @Override
    public void detach(Agent agent) {
        model.detach(agent);
    }

    @Override
    public void attachAll(List<? extends Agent> agents) {
        model.attachAll(agents);
    }

    @Override
    public void detachAll(List<? extends Agent> agents) {
        model.detachAll(agents);
    }

    @Override
    public long workerCpuMask() {
        return model.workerCpuMask();
    }

    @Override
    public IdleStrategyKind idleStrategy() {
        return model.idleStrategy();
    }

    @Override
    public Swap idleStrategy(IdleStrategyKind kind) {
        return model.idleStrategy(kind);
    }

    @Override
    public List<WorkerInfo> workers() {
        return model.workers();
    }

    @Override
    public Swap workers(int count) {
        return model.workers(count);
    }

    @Override
    public List<Swap> recentSwaps() {
        return model.recentSwaps();
    }

    /** {@code fsp:sched}: the workers, their agents and utilisation, the idle strategy and the recent pauses. */
    public String sched() {
        return format(
                model.idleStrategy(),
                model.handoffDeviceWaits(),
                model.lendings(),
                model.workers(),
                model.recentSwaps());
    }

    /**
     * {@code fsp:sched idle spin|backoff|futex}, {@code fsp:sched workers N} or
     * {@code fsp:sched devicewait handoff|inline}: changes the thread model live and reports the pause.
     */
    public String sched(String what, String value) {
        Swap swap =
                switch (what) {
                    case "idle" -> model.idleStrategy(IdleStrategyKind.parse(value));
                    case "workers" -> model.workers(parseCount(value));
                    case "devicewait" -> model.handoffDeviceWaits(parseDeviceWait(value));
                    default ->
                        throw new IllegalArgumentException(
                                "usage: fsp:sched [idle spin|backoff|futex | workers N | devicewait handoff|inline]");
                };
        return swap.change() + ": workers paused " + micros(swap.pauseNanos()) + " us";
    }

    /** True for {@code handoff}, false for {@code inline} (case ignored). */
    static boolean parseDeviceWait(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "handoff" -> true;
            case "inline" -> false;
            default ->
                throw new IllegalArgumentException("unknown device wait '" + value + "' (expected handoff or inline)");
        };
    }

    private static int parseCount(String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("workers: not a number: '" + value + "'");
        }
    }

    @Override
    public String section() {
        return "threads";
    }

    @Override
    public int order() {
        return 40;
    }

    @Override
    public Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        List<WorkerInfo> ws = model.workers();
        m.put("idleStrategy", model.idleStrategy().configName());
        m.put("deviceWait", PollingThreadModel.deviceWaitName(model.handoffDeviceWaits()));
        m.put("deviceWaitHandoffs", model.lendings());
        m.put("workers", ws.size());
        m.put(
                "agentsPerWorker",
                ws.stream().map(w -> w.agents().size()).toList().toString());
        m.put("work", ws.stream().mapToLong(WorkerInfo::work).sum());
        List<Swap> swaps = model.recentSwaps();
        m.put("swaps", swaps.size());
        if (!swaps.isEmpty()) {
            m.put(
                    "lastSwap",
                    swaps.getLast().change() + " (" + micros(swaps.getLast().pauseNanos()) + " us)");
            m.put(
                    "maxPauseMicros",
                    micros(swaps.stream().mapToLong(Swap::pauseNanos).max().orElse(0)));
        }
        return m;
    }

    /** The text {@code fsp:sched} prints. */
    static String format(
            IdleStrategyKind kind, boolean handoff, long lendings, List<WorkerInfo> workers, List<Swap> swaps) {
        StringBuilder sb = new StringBuilder();
        sb.append("idle strategy ")
                .append(kind.configName())
                .append(", ")
                .append(workers.size())
                .append(workers.size() == 1 ? " worker" : " workers")
                .append(", device waits ")
                .append(PollingThreadModel.deviceWaitName(handoff))
                .append(" (")
                .append(lendings)
                .append(" handed off)")
                .append(String.format("%n"));
        sb.append(String.format("%-22s %6s %12s  %s%n", "worker", "util", "work", "agents"));
        for (WorkerInfo w : workers) {
            sb.append(String.format(
                    Locale.ROOT,
                    "%-22s %5.1f%% %12d  %s%n",
                    w.name(),
                    w.utilisation() * 100,
                    w.work(),
                    w.agents().isEmpty() ? "-" : String.join(", ", w.agents())));
        }
        sb.append("recent swaps (pause the workers stood still):");
        if (swaps.isEmpty()) {
            sb.append(" none");
        }
        for (Swap s : swaps) {
            sb.append(String.format(
                    Locale.ROOT, "%n  %tT  %-36s %10s us", s.atMillis(), s.change(), micros(s.pauseNanos())));
        }
        return sb.toString();
    }

    private static String micros(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1_000.0);
    }
}
