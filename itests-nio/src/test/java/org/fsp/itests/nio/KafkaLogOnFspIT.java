package org.fsp.itests.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Kafka's log segment file code (kafka-clients' FileRecords, from Maven Central, unmodified) in a client JVM started by
 * {@code bin/fsp-java} against the distribution's fspd: append, flush, atomic rename, truncate, reopen and read back
 * must print exactly what the same program prints on a kernel directory.
 */
class KafkaLogOnFspIT {

    @Test
    void segmentFileOnFspReadsBackAsOnTheKernel() throws Exception {
        Path work = FspdProcess.workDirectory("kafka");
        String workload = KafkaLogWorkload.class.getName();
        try (FspdProcess fspd = new FspdProcess(work).start()) {
            List<String> kernel = AppRun.run(
                    FspdProcess.plainJava(workload, work.resolve("kernel-log").toString()),
                    work.resolve("kernel.err"),
                    300);
            List<String> onFsp = AppRun.run(fspd.fspJava(workload, "/fsp/kafka/topic-0"), work.resolve("fsp.err"), 300);
            assertTrue(kernel.stream().filter(l -> l.startsWith("BATCH ")).count() > 10, String.join("\n", kernel));
            assertTrue(kernel.stream().noneMatch(l -> l.contains("valid=false")), String.join("\n", kernel));
            assertTrue(kernel.contains("CLEANED GONE true"), String.join("\n", kernel));
            assertEquals(kernel, onFsp);
        }
    }
}
