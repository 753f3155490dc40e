package org.fsp.upgrade;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.handoff.Layer;
import org.fsp.api.sched.ThreadModel;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO;

/**
 * {@link Readiness} as Declarative Services sees it: every enabled component of the bundle active or satisfied (SCR's
 * DTOs, polled every 5 ms) and, when asked, the layer's service registered by that bundle, within a time limit.
 */
final class ScrReadiness implements Readiness {

    private final ServiceComponentRuntime scr;
    private final BundleContext context;
    private final Layer layer;
    private final long timeoutMillis;

    ScrReadiness(ServiceComponentRuntime scr, BundleContext context, Layer layer, long timeoutMillis) {
        this.scr = scr;
        this.context = context;
        this.layer = layer;
        this.timeoutMillis = timeoutMillis;
    }

    @Override
    public String awaitUp(Bundle b, boolean withService) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        String waitingFor;
        do {
            waitingFor = null;
            Collection<ComponentDescriptionDTO> descriptions = scr.getComponentDescriptionDTOs(b);
            if (descriptions.isEmpty()) {
                waitingFor = "no components of " + b.getSymbolicName() + " " + b.getVersion() + " known to SCR";
            }
            for (ComponentDescriptionDTO d : descriptions) {
                if (!scr.isComponentEnabled(d)) {
                    continue;
                }
                Collection<ComponentConfigurationDTO> configs = scr.getComponentConfigurationDTOs(d);
                if (configs.isEmpty()) {
                    waitingFor = d.name + ": no configuration";
                }
                for (ComponentConfigurationDTO c : configs) {
                    if (c.state == ComponentConfigurationDTO.FAILED_ACTIVATION) {
                        return d.name + " failed to activate: " + c.failure;
                    }
                    if (c.state != ComponentConfigurationDTO.ACTIVE && c.state != ComponentConfigurationDTO.SATISFIED) {
                        waitingFor = d.name + " " + componentState(c);
                    }
                }
            }
            if (waitingFor == null && withService && !servesLayer(b)) {
                waitingFor = serviceOf(layer) + " not registered by " + b.getSymbolicName() + " " + b.getVersion();
            }
            if (waitingFor == null) {
                return null;
            }
            Thread.sleep(5);
        } while (System.nanoTime() < deadline);
        return "not up within " + timeoutMillis + " ms: " + waitingFor;
    }

    private boolean servesLayer(Bundle b) {
        String service = serviceOf(layer);
        if (service == null) {
            return true;
        }
        try {
            ServiceReference<?>[] refs = context.getAllServiceReferences(service, null);
            if (refs != null) {
                for (ServiceReference<?> ref : refs) {
                    if (b.equals(ref.getBundle())) {
                        return true;
                    }
                }
            }
            return false;
        } catch (InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * The service a layer's bundle must register to count as up, or null (ipc-shm, ipc-fuse: their components being
     * active).
     */
    static String serviceOf(Layer layer) {
        return switch (layer) {
            case FS -> FileSystemService.class.getName();
            case BLOCK_SCHED -> BlockScheduler.class.getName();
            case DEVICE -> BlockDevice.class.getName();
            case SCHED -> ThreadModel.class.getName();
            case IPC, FUSE -> null;
        };
    }

    private static String componentState(ComponentConfigurationDTO c) {
        return switch (c.state) {
            case ComponentConfigurationDTO.UNSATISFIED_CONFIGURATION -> "waits for its configuration";
            case ComponentConfigurationDTO.UNSATISFIED_REFERENCE -> {
                List<String> refs = new ArrayList<>();
                for (UnsatisfiedReferenceDTO r : c.unsatisfiedReferences) {
                    refs.add(r.name);
                }
                yield "waits for references " + refs;
            }
            default -> "is in state " + c.state;
        };
    }
}
