package org.fsp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.fsp.linux.Libc;
import org.fsp.linux.UnixSockets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SupervisorTest {

    private static final long S = TimeUnit.SECONDS.toNanos(1);

    private static Supervisor.CrashLoop loop(int limit, int windowSeconds, int maxBackoffSeconds) {
        return new Supervisor.CrashLoop(new Supervisor.CrashPolicy(
                limit, Duration.ofSeconds(windowSeconds), Duration.ofSeconds(maxBackoffSeconds)));
    }

    @Test
    void shouldRestartAtOnceBelowTheCrashLimit() {
        Supervisor.CrashLoop loop = loop(5, 10, 8);
        for (int i = 0; i < 4; i++) {
            assertEquals(0, loop.onCrash(i * S, 0), "crash " + (i + 1));
        }
    }

    @Test
    void shouldBackOffExponentiallyAndThenGiveUp() {
        Supervisor.CrashLoop loop = loop(5, 10, 8);
        long t = 0;
        for (int i = 0; i < 4; i++) {
            loop.onCrash(t += S / 10, 0);
        }
        assertEquals(1 * S, loop.onCrash(t += S / 10, 0), "the fifth crash within 10 s");
        assertEquals(2 * S, loop.onCrash(t += 2 * S, S / 10));
        assertEquals(4 * S, loop.onCrash(t += 3 * S, S / 10));
        // Past the window the count has fallen, but each fspd still died within 10 s of serving: the loop goes on.
        assertEquals(8 * S, loop.onCrash(t += 5 * S, S / 10));
        assertEquals(-1, loop.onCrash(t += 9 * S, S / 10), "a wait beyond --max-backoff: give up");
    }

    @Test
    void shouldForgetALoopOnceAnFspdHasServedForTheWindow() {
        Supervisor.CrashLoop loop = loop(2, 10, 8);
        assertEquals(0, loop.onCrash(0, 0));
        assertEquals(S, loop.onCrash(S, 0));
        assertEquals(0, loop.onCrash(60 * S, 30 * S), "it served 30 s: no loop any more");
    }

    @Test
    void shouldNeverBackOffWithLimitZero() {
        Supervisor.CrashLoop loop = loop(0, 10, 1);
        for (int i = 0; i < 100; i++) {
            assertEquals(0, loop.onCrash(i, 0));
        }
        assertFalse(loop.wouldBackOff(100, 0));
    }

    @Test
    void shouldHoldTheStandbyWhenTheNextCrashWouldBeBackedOff() {
        Supervisor.CrashLoop loop = loop(3, 10, 8);
        assertFalse(loop.wouldBackOff(0, 0), "no crash yet");
        loop.onCrash(0, 0);
        assertFalse(loop.wouldBackOff(S, 0), "one crash: a second would not reach 3");
        loop.onCrash(S, 0);
        assertTrue(loop.wouldBackOff(2 * S, 0), "a third within 10 s would");
        assertFalse(loop.wouldBackOff(20 * S, 0), "the two have left the window");
    }

    @Test
    void shouldNameTheSignalOrTheExitCode() {
        assertEquals("was killed by signal 9 (KILL)", Supervisor.cause(128 + 9));
        assertEquals("was killed by signal 11 (SEGV)", Supervisor.cause(128 + 11));
        assertEquals("exited with code 1", Supervisor.cause(1));
        assertEquals("exited with code 0", Supervisor.cause(0));
    }

    @Test
    void controlChannelShouldFrameLinesAndPassTheDescriptor(@TempDir Path dir) throws Exception {
        String path = dir.resolve("ctl").toString();
        int listener = UnixSockets.listen(path, 1);
        int passed = UnixSockets.listen(dir.resolve("client.sock").toString(), 1);
        try (ControlChannel client = ControlChannel.connect(path);
                ControlChannel server = new ControlChannel(UnixSockets.accept(listener))) {
            client.send("hello 1");
            client.send("standby 12 34");
            assertEquals("hello 1", server.receive());
            assertEquals("standby 12 34", server.receive());
            assertEquals(null, server.receiveNow(), "nothing more waits");
            assertFalse(server.peerClosed());
            server.send("socket free", passed);
            assertEquals("socket free", client.receive());
            int got = client.takeDescriptor();
            assertTrue(got >= 0, "a descriptor came with the line");
            assertNotEquals(passed, got, "a new descriptor of the same socket");
            Libc.close(got);
            server.send("hold");
            server.send("free");
            assertEquals("hold", client.receiveNow());
            assertEquals("free", client.receiveNow());
            server.close();
            assertEquals(null, client.receive(), "end of the conversation");
            assertTrue(client.peerClosed());
        } finally {
            Libc.close(listener);
            Libc.close(passed);
        }
    }
}
