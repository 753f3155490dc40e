package org.fsp.api.status;

import java.util.Map;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A section of {@code fsp:status}: each layer registers one, the admin bundle prints them all in {@link #order()}.
 * Values are plain strings and numbers so that the shell, logs and JSON can show them without knowing the layer.
 */
@ConsumerType
public interface StatusContributor {

    /** Section title, e.g. {@code "device"} or {@code "clients"}. */
    String section();

    /** Sections are printed in ascending order; layers use the order of the stack (device 10, fs 30, ipc 50). */
    default int order() {
        return 100;
    }

    /** A snapshot of the layer's state, keys in display order. */
    Map<String, Object> status();
}
