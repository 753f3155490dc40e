package org.fsp.itests.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * H2 (MVStore) from its Maven Central jar, unmodified, in a client JVM started by {@code bin/fsp-java} against the
 * distribution's real fspd, with the database at {@code jdbc:h2:/fsp/...}; the same program on a kernel directory is
 * the reference. A fixed transaction mix must leave identical balances on both; then a mix run until the client JVM
 * is SIGKILLed must keep every transaction whose commit returned, with the TPC-B invariants intact; and so must a
 * run after which fspd itself is SIGKILLed and restarted.
 */
class H2OnFspIT {

    /** Commits on every transaction as soon as it returns (no write delay), so a killed client loses nothing. */
    private static final String OPTIONS = ";WRITE_DELAY=0";

    private static final String WORKLOAD = H2Workload.class.getName();

    @Test
    void tpcbMixSurvivesAKilledClientAndMatchesTheKernelRun() throws Exception {
        Path work = FspdProcess.workDirectory("h2");
        Path kernelDb = Files.createDirectories(work.resolve("kernel")).resolve("bank");
        try (FspdProcess fspd = new FspdProcess(work).start()) {
            String fspUrl = "jdbc:h2:/fsp/h2/bank" + OPTIONS;
            String kernelUrl = "jdbc:h2:" + kernelDb + OPTIONS;

            AppRun.run(fspd.fspJava(WORKLOAD, fspUrl, "init"), work.resolve("init-fsp.err"), 300);
            AppRun.run(FspdProcess.plainJava(WORKLOAD, kernelUrl, "init"), work.resolve("init-k.err"), 300);
            AppRun.run(fspd.fspJava(WORKLOAD, fspUrl, "run", "300", "42"), work.resolve("run-fsp.err"), 300);
            AppRun.run(FspdProcess.plainJava(WORKLOAD, kernelUrl, "run", "300", "42"), work.resolve("run-k.err"), 300);
            List<String> fspCheck =
                    AppRun.run(fspd.fspJava(WORKLOAD, fspUrl, "check"), work.resolve("check-fsp.err"), 300);
            List<String> kernelCheck =
                    AppRun.run(FspdProcess.plainJava(WORKLOAD, kernelUrl, "check"), work.resolve("check-k.err"), 300);
            assertEquals(kernelCheck, fspCheck, "the same transactions leave the same database on FSP and ext4");
            assertTrue(fspCheck.contains("HISTORY 300"), String.join("\n", fspCheck));
            assertTrue(Files.exists(Path.of("/fsp")) == false, "the kernel has no /fsp: the data went to FSP");

            Set<Long> committedFsp = crashRun(fspd.fspJava(WORKLOAD, fspUrl, "run", "-1", "7"), work, "fsp");
            checkAfterCrash(
                    AppRun.run(fspd.fspJava(WORKLOAD, fspUrl, "check"), work.resolve("c2.err"), 300), committedFsp);
            // Now the file system process itself dies without unmounting: what H2 committed and synced (CHECKPOINT
            // SYNC, which ends in FileChannel.force, so fsync in FSP) must be on the device.
            Set<Long> committedBeforeFspdDied =
                    crashRun(fspd.fspJava(WORKLOAD, fspUrl, "run", "-1", "8", "durable"), work, "fsp-2");
            fspd.kill();
            fspd.start();
            committedBeforeFspdDied.addAll(committedFsp);
            checkAfterCrash(
                    AppRun.run(fspd.fspJava(WORKLOAD, fspUrl, "check"), work.resolve("c4.err"), 300),
                    committedBeforeFspdDied);
            Set<Long> committedKernel =
                    crashRun(FspdProcess.plainJava(WORKLOAD, kernelUrl, "run", "-1", "7"), work, "kernel");
            checkAfterCrash(
                    AppRun.run(FspdProcess.plainJava(WORKLOAD, kernelUrl, "check"), work.resolve("c3.err"), 300),
                    committedKernel);
        }
    }

    /** Runs transactions until at least 150 more committed, SIGKILLs the JVM, returns what it reported committed. */
    private static Set<Long> crashRun(List<String> cmd, Path work, String name) throws Exception {
        try (AppRun run = new AppRun(cmd, work.resolve("crash-" + name + ".err"))) {
            run.awaitLines(
                    l -> l.stream().filter(s -> s.startsWith("COMMITTED")).count() >= 150, 300);
            List<String> printed = run.kill();
            return printed.stream()
                    .filter(s -> s.startsWith("COMMITTED "))
                    .map(s -> Long.parseLong(s.substring(10)))
                    .collect(Collectors.toCollection(HashSet::new));
        }
    }

    private static void checkAfterCrash(List<String> check, Set<Long> committed) {
        String sums =
                check.stream().filter(s -> s.startsWith("SUMS ")).findFirst().orElseThrow();
        String[] v = sums.split(" ");
        assertEquals(v[1], v[2], "accounts and tellers balance: " + sums);
        assertEquals(v[1], v[3], "accounts and branches balance: " + sums);
        assertEquals(v[1], v[4], "accounts and history balance: " + sums);
        String ids =
                check.stream().filter(s -> s.startsWith("TXIDS")).findFirst().orElseThrow();
        Set<Long> present = new HashSet<>();
        Arrays.stream(ids.split(" ")).skip(1).forEach(s -> present.add(Long.parseLong(s)));
        Set<Long> lost = new HashSet<>(committed);
        lost.removeAll(present);
        assertTrue(committed.size() >= 150, "committed " + committed.size());
        assertTrue(lost.isEmpty(), "committed transactions lost after the client was killed: " + lost);
    }
}
