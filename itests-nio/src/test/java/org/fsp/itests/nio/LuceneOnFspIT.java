package org.fsp.itests.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Apache Lucene from its Maven Central jar, unmodified, in a client JVM started by {@code bin/fsp-java} against the
 * distribution's real fspd, indexing into {@code /fsp/...} with NIOFSDirectory and with MMapDirectory (whose
 * {@code FileChannel.map(…, Arena)} FSP pages in user space); the hits and scores of every query must be identical to
 * the same program's on a kernel directory.
 */
class LuceneOnFspIT {

    private static final String WORKLOAD = LuceneWorkload.class.getName();
    private static final String DOCS = "8000";

    private static Path work;
    private static FspdProcess fspd;
    private static List<String> kernel;

    @BeforeAll
    static void startFspdAndRunOnTheKernel() throws Exception {
        work = FspdProcess.workDirectory("lucene");
        fspd = new FspdProcess(work).start();
        kernel = AppRun.run(
                FspdProcess.plainJava(WORKLOAD, work.resolve("kernel-index").toString(), "nio", DOCS),
                work.resolve("kernel.err"),
                600);
        assertTrue(kernel.contains("DOCS " + DOCS), String.join("\n", kernel));
        assertTrue(kernel.size() > 200, "the queries find documents: " + kernel.size() + " lines");
    }

    @AfterAll
    static void stopFspd() throws Exception {
        if (fspd != null) {
            fspd.close();
        }
    }

    @Test
    void niofsDirectoryOnFspFindsWhatTheKernelRunFinds() throws Exception {
        List<String> onFsp =
                AppRun.run(fspd.fspJava(WORKLOAD, "/fsp/lucene-nio", "nio", DOCS), work.resolve("fsp-nio.err"), 600);
        assertEquals(kernel, onFsp);
        assertTrue(!Files.exists(Path.of("/fsp")), "the kernel has no /fsp: the index went to FSP");
    }

    @Test
    void mmapDirectoryOnFspFindsWhatTheKernelRunFinds() throws Exception {
        List<String> onFsp =
                AppRun.run(fspd.fspJava(WORKLOAD, "/fsp/lucene-mmap", "mmap", DOCS), work.resolve("fsp-mmap.err"), 600);
        assertEquals(kernel, onFsp);
    }
}
