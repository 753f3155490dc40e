package org.fsp.api.handoff;

import java.util.Locale;

/**
 * How a layer's new version takes over from the serving one in a live upgrade, as the new bundle declares it in its
 * manifest header {@value #HEADER} (bnd: {@code @Header(name = HandoverMethod.HEADER, value = "standby")}). A bundle
 * without the header is upgraded {@link #STOP_START}, which every layer supports.
 */
public enum HandoverMethod {
    /** The old version stops (quiesces and deposits its state), then the new one starts and takes the deposit. */
    STOP_START("stop-start"),
    /**
     * The new version starts and serves beside the old one before the old one stops: the layer above binds the newer
     * service and lets the old one drain (two thread models, two block schedulers can run at once).
     */
    MAKE_BEFORE_BREAK("make-before-break"),
    /**
     * The new version starts beside the old one without taking the shared resources (it registers no service), waits
     * for the deposit, and adopts it the moment the old version stops (fs-core).
     */
    STANDBY("standby");

    /** The manifest header that names the method. */
    public static final String HEADER = "FSP-Handover";

    private final String headerValue;

    HandoverMethod(String headerValue) {
        this.headerValue = headerValue;
    }

    /** The header's value for this method, e.g. {@code make-before-break}. */
    public String headerValue() {
        return headerValue;
    }

    /**
     * The method a header value names: null or blank is {@link #STOP_START}; anything else unknown is an
     * IllegalArgumentException listing the known values (a typo must not silently downgrade the upgrade).
     */
    public static HandoverMethod ofHeader(String value) {
        if (value == null || value.isBlank()) {
            return STOP_START;
        }
        String v = value.trim().toLowerCase(Locale.ROOT);
        for (HandoverMethod m : values()) {
            if (m.headerValue.equals(v)) {
                return m;
            }
        }
        StringBuilder known = new StringBuilder();
        for (HandoverMethod m : values()) {
            known.append(known.isEmpty() ? "" : ", ").append(m.headerValue);
        }
        throw new IllegalArgumentException(HEADER + ": unknown value '" + value + "' (expected one of " + known + ")");
    }

    @Override
    public String toString() {
        return headerValue;
    }
}
