package org.fsp.testing;

import java.util.concurrent.TimeUnit;
import org.fsp.api.handoff.LayerGate;

/** The contract on the gate itself, with plain objects as services. */
class LayerGateContractTest extends AbstractLayerGateContractTest<Object> {

    @Override
    protected Boundary<Object> newBoundary(long waitLimitMillis) {
        LayerGate<Object> gate = new LayerGate<>("test service", TimeUnit.MILLISECONDS.toNanos(waitLimitMillis));
        return new Boundary<>() {
            @Override
            public long bind(Object service) {
                return gate.bind(service);
            }

            @Override
            public void unbind(Object service) {
                gate.unbind(service);
            }

            @Override
            public LayerGate.Entry<Object> enter() {
                return gate.enter();
            }
        };
    }

    @Override
    protected Object newService() {
        return new Object();
    }
}
