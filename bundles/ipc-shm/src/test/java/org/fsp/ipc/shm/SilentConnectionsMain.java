package org.fsp.ipc.shm;

import java.nio.file.Files;
import java.nio.file.Path;
import org.fsp.linux.NativeException;
import org.fsp.linux.UnixSockets;

/**
 * A hostile client process, run in a child JVM: prints "READY", waits until the file {@code args[2]} exists (so that
 * the test can lower its own descriptor limit in between), then opens {@code args[1]} connections to the socket
 * {@code args[0]} and never says hello on any; prints "OPENED n" (the connects that succeeded) and stays until killed.
 */
public final class SilentConnectionsMain {

    private SilentConnectionsMain() {}

    public static void main(String[] args) throws Exception {
        String socket = args[0];
        int count = Integer.parseInt(args[1]);
        Path go = Path.of(args[2]);
        System.out.println("READY");
        System.out.flush();
        while (!Files.exists(go)) {
            Thread.sleep(5);
        }
        int opened = 0;
        for (int i = 0; i < count; i++) {
            try {
                UnixSockets.connect(socket);
                opened++;
            } catch (NativeException e) {
                System.out.println("CONNECT-FAILED " + e.getMessage());
            }
        }
        System.out.println("OPENED " + opened);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
