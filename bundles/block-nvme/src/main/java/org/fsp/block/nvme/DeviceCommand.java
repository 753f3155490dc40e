package org.fsp.block.nvme;

import java.util.Map;

/**
 * The {@code fsp:device} shell command: the device, the mode it runs in, its queue depth, I/O counts and the
 * completion-latency histogram. Registered as a plain service with {@code osgi.command.scope=fsp} and
 * {@code osgi.command.function=device}; Gogo calls {@link #device()} by name.
 */
public final class DeviceCommand {

    private final ObservableBlockDevice device;

    DeviceCommand(ObservableBlockDevice device) {
        this.device = device;
    }

    /** The report {@code fsp:device} prints. */
    public String device() {
        StringBuilder sb = new StringBuilder();
        sb.append(device.describe()).append('\n');
        sb.append(String.format("  %-20s %s%n", "driver", device.driver()));
        sb.append(String.format("  %-20s %s%n", "mode", device.mode()));
        sb.append(String.format("  %-20s %d%n", "queueDepth", device.queueDepth()));
        sb.append(String.format("  %-20s %d%n", "inFlight", device.inFlight()));
        for (Map.Entry<String, Object> e : device.stats().toMap().entrySet()) {
            sb.append(String.format("  %-20s %s%n", e.getKey(), e.getValue()));
        }
        sb.append("latency histogram (queued to reported):\n");
        sb.append(device.stats().latencyHistogramText());
        return sb.toString();
    }
}
