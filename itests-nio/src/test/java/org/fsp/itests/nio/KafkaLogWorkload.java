package org.fsp.itests.nio;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.CRC32;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.FileLogInputStream.FileChannelRecordBatch;
import org.apache.kafka.common.record.FileRecords;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.SimpleRecord;

/**
 * Kafka's log segment data file, {@link FileRecords} from kafka-clients, unmodified: appends record batches to a
 * segment under a temporary name, flushes, renames it into place (Kafka's atomic move with directory fsync), truncates
 * the tail, reopens it and prints every batch (offsets, size, CRC check, a checksum of the values) and an offset
 * search, for comparison with the same run on the kernel.
 */
public final class KafkaLogWorkload {

    private KafkaLogWorkload() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createDirectories(Path.of(args[0]));
        File cleaned = dir.resolve("00000000000000000000.log.cleaned").toFile();
        File log = dir.resolve("00000000000000000000.log").toFile();
        Random r = new Random(11);
        long offset = 0;
        try (FileRecords records = FileRecords.open(cleaned)) {
            for (int b = 0; b < 300; b++) {
                SimpleRecord[] batch = new SimpleRecord[1 + r.nextInt(20)];
                for (int i = 0; i < batch.length; i++) {
                    byte[] value = new byte[r.nextInt(2000)];
                    r.nextBytes(value);
                    batch[i] =
                            new SimpleRecord(1_700_000_000_000L + offset + i, ("k" + (offset + i)).getBytes(), value);
                }
                records.append(MemoryRecords.withRecords(offset, Compression.NONE, batch));
                offset += batch.length;
            }
            records.flush();
            records.renameTo(log);
            int keep = records.searchForOffsetFromPosition(offset - 100, 0).position;
            System.out.println("TRUNCATED " + records.truncateTo(keep));
            records.flush();
        }
        try (FileRecords records = FileRecords.open(log)) {
            System.out.println("SIZE " + records.sizeInBytes());
            System.out.println("CLEANED GONE " + !Files.exists(cleaned.toPath()));
            for (FileChannelRecordBatch batch : records.batches()) {
                CRC32 crc = new CRC32();
                for (Record rec : batch) {
                    ByteBuffer v = rec.value();
                    crc.update(v);
                    crc.update(rec.key());
                }
                System.out.println("BATCH " + batch.baseOffset() + " " + batch.lastOffset() + " " + batch.sizeInBytes()
                        + " valid=" + batch.isValid() + " values=" + Long.toHexString(crc.getValue()));
            }
            System.out.println("SEARCH " + records.searchForOffsetFromPosition(1000, 0));
        }
    }
}
