package org.fsp.ipc.shm;

import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
import org.fsp.client.FspException;

/**
 * The program that multi-process tests run in child JVMs: one FS Lib client doing one scripted thing and printing
 * what it saw, one line per fact.
 *
 * <pre>
 *  write  socket path bytes seed   writes seeded random bytes, prints "CRC crc"
 *  read   socket path              reads the file, prints "CRC crc length"
 *  loop   socket path              opens the file three times, prints "READY", then writes 4 KiB blocks for ever
 *  churn  socket path seconds      prints "READY", then for that long writes random 8 KiB blocks and reads each back,
 *                                  prints "MISMATCH round" and exits 1 on a difference, else "DONE rounds"
 *  probe  socket private public    prints "PRIVATE-READ ...", "PUBLIC-READ ...", "PUBLIC-WRITE ..."
 * </pre>
 */
public final class ClientProcessMain {

    private ClientProcessMain() {}

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[1]);
        try (FspClient c = FspClient.connect(socket)) {
            switch (args[0]) {
                case "write" -> {
                    byte[] data = new byte[Integer.parseInt(args[3])];
                    new Random(Long.parseLong(args[4])).nextBytes(data);
                    c.writeAll(args[2], data);
                    System.out.println("CRC " + crc(data));
                }
                case "read" -> {
                    byte[] data = c.readAll(args[2]);
                    System.out.println("CRC " + crc(data) + " " + data.length);
                }
                case "loop" -> {
                    long h = c.open(args[2], OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
                    c.open(args[2], OpenFlags.O_RDONLY, 0);
                    c.open(args[2], OpenFlags.O_RDONLY, 0);
                    System.out.println("READY");
                    byte[] block = new byte[4096];
                    for (long i = 0; ; i++) {
                        c.pwrite(h, (i % 256) * 4096, block, 0, block.length);
                    }
                }
                case "churn" -> {
                    long h = c.open(args[2], OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_TRUNC, 0644);
                    byte[] block = new byte[8192];
                    byte[] back = new byte[8192];
                    Random random = new Random(1);
                    long end = System.nanoTime() + Long.parseLong(args[3]) * 1_000_000_000L;
                    System.out.println("READY");
                    long rounds = 0;
                    for (; System.nanoTime() < end; rounds++) {
                        random.nextBytes(block);
                        long offset = (rounds % 64) * block.length;
                        c.pwrite(h, offset, block, 0, block.length);
                        if (c.pread(h, offset, back, 0, back.length) != back.length || !Arrays.equals(block, back)) {
                            System.out.println("MISMATCH " + rounds);
                            System.exit(1);
                        }
                    }
                    c.close(h);
                    System.out.println("DONE " + rounds);
                }
                case "probe" -> {
                    System.out.println("PRIVATE-READ " + attempt(() -> c.readAll(args[2]).length));
                    System.out.println("PUBLIC-READ " + attempt(() -> c.readAll(args[3]).length));
                    System.out.println("PUBLIC-WRITE "
                            + attempt(() -> {
                                c.writeAll(args[3], new byte[1]);
                                return 1;
                            }));
                }
                default -> throw new IllegalArgumentException(args[0]);
            }
        }
        System.out.flush();
    }

    private interface Action {
        int run() throws Exception;
    }

    private static String attempt(Action a) {
        try {
            return "OK " + a.run();
        } catch (AccessDeniedException e) {
            return "DENIED " + ((FspException) e).errno();
        } catch (Exception e) {
            return "FAILED " + e;
        }
    }

    private static long crc(byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(data);
        return crc.getValue();
    }
}
