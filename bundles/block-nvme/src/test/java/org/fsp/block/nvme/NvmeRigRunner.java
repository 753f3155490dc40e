package org.fsp.block.nvme;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs named test classes with the JUnit Platform and exits 0 only if at least one test ran and none failed: the
 * NVMe rig's guest has the test jars but no Maven. Usage: {@code java -cp ... org.fsp.block.nvme.NvmeRigRunner
 * org.fsp.block.nvme.NvmePciContractTest ...}.
 */
public final class NvmeRigRunner {

    private NvmeRigRunner() {}

    public static void main(String[] args) {
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String className : args) {
            request.selectors(selectClass(className));
        }
        LauncherDiscoveryRequest built = request.build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(built, listener);
        TestExecutionSummary summary = listener.getSummary();
        PrintWriter out = new PrintWriter(System.out, true);
        summary.printTo(out);
        summary.printFailuresTo(out, 20);
        boolean passed = summary.getTotalFailureCount() == 0 && summary.getTestsSucceededCount() > 0;
        out.println("tests succeeded=" + summary.getTestsSucceededCount() + " failed="
                + summary.getTotalFailureCount() + " skipped=" + summary.getTestsSkippedCount()
                + " aborted=" + summary.getTestsAbortedCount());
        System.exit(passed ? 0 : 1);
    }
}
