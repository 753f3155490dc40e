package org.fsp.upgrade;

import java.lang.reflect.Proxy;
import org.osgi.framework.Bundle;

/** A test double of a {@link Bundle}: an id, a symbolic name and a state the test sets; nothing else works. */
final class BundleDouble {

    private final long id;
    private volatile int state = Bundle.ACTIVE;
    final Bundle bundle;

    BundleDouble(long id) {
        this.id = id;
        this.bundle = (Bundle) Proxy.newProxyInstance(
                Bundle.class.getClassLoader(),
                new Class<?>[] {Bundle.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getBundleId" -> this.id;
                    case "getState" -> state;
                    case "getSymbolicName" -> "org.fsp.test-double-" + this.id;
                    case "toString" -> "bundle double " + this.id;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    void state(int state) {
        this.state = state;
    }
}
