package org.fsp.fs.core.provenance;

import java.io.IOException;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.handoff.HandoffVault;
import org.fsp.api.handoff.HandoverMethod;
import org.fsp.fs.core.FsCoreComponent;
import org.osgi.annotation.bundle.Header;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;

/**
 * fs-core 0.2: the file system exactly as {@link FsCoreComponent} mounts and publishes it (same PID, configuration,
 * references and live-upgrade hand-off, by delegation), plus provenance tracking ({@link ProvenanceFeature}): which
 * process created and which last wrote each file, shown by {@code fsp:provenance PATH}.
 */
@Component(
        immediate = true,
        configurationPid = FsCoreComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {})
@Designate(ocd = FsCoreComponent.Config.class)
// Like fs-core's own component (whose annotation bnd does not see in the classes copied in), it stands by when it
// starts next to a serving version: fsp:upgrade may start it before the old one stops.
@Header(name = HandoverMethod.HEADER, value = "standby")
public final class ProvenanceFsCoreComponent {

    private final FsCoreComponent core = new FsCoreComponent(new ProvenanceFeature(new ProvenanceTracker()));

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindVault(HandoffVault vault) {
        core.bindVault(vault);
    }

    void unbindVault(HandoffVault vault) {
        core.unbindVault(vault);
    }

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindScheduler(BlockScheduler scheduler) {
        core.bindScheduler(scheduler);
    }

    void unbindScheduler(BlockScheduler scheduler) {
        core.unbindScheduler(scheduler);
    }

    @Activate
    void activate(FsCoreComponent.Config config, BundleContext context) {
        core.activate(config, context);
    }

    @Deactivate
    void deactivate(BundleContext context) throws IOException {
        core.deactivate(context);
    }
}
