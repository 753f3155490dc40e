package org.fsp.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.handoff.ChannelHandoff;
import org.fsp.api.handoff.FileSystemHandoff;
import org.fsp.api.handoff.Layer;
import org.fsp.api.handoff.LayerState;
import org.fsp.linux.Libc;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;

class ExpiringHandoffVaultTest {

    private static final long EXPIRY_NANOS = 60_000_000_000L;

    private final AtomicLong clock = new AtomicLong(1_000);
    private final ExpiringHandoffVault vault = new ExpiringHandoffVault(EXPIRY_NANOS, clock::get);

    /** A state of a layer that owns the given descriptors and arenas, as ipc-shm's does. */
    private record OwningState(List<Integer> descriptors, List<Arena> arenas) implements LayerState {
        @Override
        public long quiescedAtNanos() {
            return 0;
        }
    }

    private static FileSystemHandoff fsState() {
        return new FileSystemHandoff("image-1", List.of(new FileSystemHandoff.OpenFile(7, 12, 2, 0)), 8, Map.of(), 0);
    }

    @Test
    void shouldHandTheDepositToTheFirstTakerAndNotToASecondWhileTheFirstRuns() {
        FileSystemHandoff state = fsState();
        BundleDouble first = new BundleDouble(10);
        BundleDouble second = new BundleDouble(11);
        vault.deposit(Layer.FS, state);

        assertSame(state, vault.take(Layer.FS, FileSystemHandoff.class, first.bundle));
        assertNull(vault.take(Layer.FS, FileSystemHandoff.class, second.bundle));
        assertTrue(
                vault.deposits().get(Layer.FS).startsWith("claimed by"),
                vault.deposits().toString());
    }

    @Test
    void shouldReturnNothingForAnotherLayerOrAnIncompatibleType() {
        vault.deposit(Layer.FS, fsState());
        Bundle taker = new BundleDouble(10).bundle;

        assertNull(vault.take(Layer.IPC, ChannelHandoff.class, taker));
        assertNull(vault.take(Layer.FS, ChannelHandoff.class, taker));
        assertNotNull(vault.take(Layer.FS, FileSystemHandoff.class, taker));
    }

    @Test
    void shouldHandTheSameDepositAgainOnceItsClaimerIsNoLongerActive() {
        FileSystemHandoff state = fsState();
        BundleDouble failedNewVersion = new BundleDouble(20);
        BundleDouble oldVersion = new BundleDouble(10);
        vault.deposit(Layer.FS, state);
        assertSame(state, vault.take(Layer.FS, FileSystemHandoff.class, failedNewVersion.bundle));

        failedNewVersion.state(Bundle.RESOLVED);

        assertSame(state, vault.take(Layer.FS, FileSystemHandoff.class, oldVersion.bundle));
    }

    @Test
    void shouldHandTheDepositAgainToTheSameBundleAfterItStoppedAndStartedAgain() {
        // An in-place update: the same bundle object stops (without depositing, its component having failed) and
        // starts again; by the time it takes again it is ACTIVE, so only the stop event tells the vault.
        FileSystemHandoff state = fsState();
        BundleDouble updated = new BundleDouble(10);
        BundleDouble other = new BundleDouble(11);
        vault.deposit(Layer.FS, state);
        assertSame(state, vault.take(Layer.FS, FileSystemHandoff.class, updated.bundle));

        vault.claimerStopped(updated.bundle);

        assertSame(state, vault.take(Layer.FS, FileSystemHandoff.class, other.bundle));
    }

    @Test
    void shouldReplaceAnEarlierDepositOfTheSameLayer() {
        BundleDouble taker = new BundleDouble(10);
        vault.deposit(Layer.FS, fsState());
        FileSystemHandoff newer = new FileSystemHandoff("image-1", List.of(), 9, Map.of(), 5);
        vault.deposit(Layer.FS, newer);

        assertSame(newer, vault.take(Layer.FS, FileSystemHandoff.class, taker.bundle));
    }

    @Test
    void shouldCloseTheDescriptorsAndArenasOfADepositNobodyTookInTime() throws Exception {
        int[] pipe = pipe();
        // Both ends link to the same pipe:[inode]; a closed descriptor no longer does (even if its number is reused).
        String pipeTarget = Files.readSymbolicLink(fdPath(pipe[0])).toString();
        Arena arena = Arena.ofShared();
        MemorySegment segment = arena.allocate(4096);
        vault.deposit(Layer.IPC, new OwningState(List.of(pipe[0], pipe[1]), List.of(arena)));

        clock.addAndGet(EXPIRY_NANOS - 1);
        assertEquals(0, vault.expire(), "not yet expired");
        assertTrue(arena.scope().isAlive());
        clock.addAndGet(1);
        assertEquals(1, vault.expire());

        assertFalse(arena.scope().isAlive(), "arena closed");
        assertFalse(segment.scope().isAlive(), "segment unmapped with its arena");
        assertFalse(isOpenAs(pipe[0], pipeTarget), "pipe read end closed");
        assertFalse(isOpenAs(pipe[1], pipeTarget), "pipe write end closed");
        assertNull(vault.take(Layer.IPC, OwningState.class, new BundleDouble(10).bundle));
    }

    @Test
    void shouldOnlyForgetAClaimedDepositWhoseClaimerRuns() throws Exception {
        int[] pipe = pipe();
        try {
            Arena arena = Arena.ofShared();
            vault.deposit(Layer.IPC, new OwningState(List.of(pipe[0]), List.of(arena)));
            assertNotNull(vault.take(Layer.IPC, OwningState.class, new BundleDouble(10).bundle));

            clock.addAndGet(EXPIRY_NANOS);
            assertEquals(0, vault.expire(), "nothing released");

            assertTrue(arena.scope().isAlive(), "the claimer owns the arena");
            assertTrue(isPipe(pipe[0]), "the claimer owns the descriptor");
            assertTrue(vault.deposits().isEmpty(), "forgotten");
            arena.close();
        } finally {
            Libc.close(pipe[0]);
            Libc.close(pipe[1]);
        }
    }

    @Test
    void shouldReleaseAReplacedUnclaimedDepositExceptWhatTheNewOneCarriesOn() throws Exception {
        int[] pipe = pipe();
        try {
            Arena kept = Arena.ofShared();
            Arena dropped = Arena.ofShared();
            vault.deposit(Layer.IPC, new OwningState(List.of(pipe[0], pipe[1]), List.of(kept, dropped)));

            vault.deposit(Layer.IPC, new OwningState(List.of(pipe[0]), List.of(kept)));

            assertTrue(isPipe(pipe[0]), "carried on");
            assertFalse(isPipe(pipe[1]), "released");
            assertTrue(kept.scope().isAlive());
            assertFalse(dropped.scope().isAlive());
            kept.close();
        } finally {
            Libc.close(pipe[0]);
        }
    }

    @Test
    void shouldKeepThePausesOfEachLayerInOrderAndWakeAWaiter() throws Exception {
        long mark = vault.pauseSequence();
        vault.pauseObserved(Layer.SCHED, 1_000);
        Thread reporter = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            vault.pauseObserved(Layer.FS, 2_500_000);
        });

        ExpiringHandoffVault.Pause pause = vault.awaitPause(Layer.FS, mark, 30_000);
        reporter.join();

        assertNotNull(pause);
        assertEquals(2_500_000, pause.pauseNanos());
        assertEquals(
                List.of(1_000L),
                vault.pauses(Layer.SCHED).stream()
                        .map(ExpiringHandoffVault.Pause::pauseNanos)
                        .toList());
        assertNull(vault.awaitPause(Layer.FS, pause.sequence(), 1), "no later pause");
    }

    @Test
    void shouldWakeAStandingByTakerWithTheDepositMadeWhileItWaits() throws Exception {
        FileSystemHandoff state = fsState();
        BundleDouble newVersion = new BundleDouble(20);
        Thread oldVersionStopping = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            vault.deposit(Layer.FS, state);
        });

        FileSystemHandoff taken = vault.awaitDeposit(
                Layer.FS, FileSystemHandoff.class, newVersion.bundle, System.nanoTime(), 30_000_000_000L);
        oldVersionStopping.join();

        assertSame(state, taken);
        assertEquals("claimed by " + newVersion.bundle, vault.deposits().get(Layer.FS));
    }

    @Test
    void shouldNotHandAStandingByTakerTheStateOfAnEarlierHandOver() throws Exception {
        // The running version took the previous deposit; while it stops (no longer ACTIVE, not yet deposited) the new
        // version standing by must not take that stale state, only the deposit about to come.
        long standingBySince = System.nanoTime();
        FileSystemHandoff earlier = fsState();
        BundleDouble running = new BundleDouble(10);
        BundleDouble newVersion = new BundleDouble(20);
        vault.deposit(Layer.FS, earlier);
        assertSame(earlier, vault.take(Layer.FS, FileSystemHandoff.class, running.bundle));
        running.state(Bundle.STOPPING);

        assertNull(
                vault.awaitDeposit(Layer.FS, FileSystemHandoff.class, newVersion.bundle, standingBySince, 20_000_000L));

        FileSystemHandoff fresh = fsState();
        vault.deposit(Layer.FS, fresh);
        assertSame(fresh, vault.awaitDeposit(Layer.FS, FileSystemHandoff.class, newVersion.bundle, standingBySince, 0));
    }

    @Test
    void shouldNotHandAStandingByTakerADepositLeftBeforeItStartedWaiting() throws Exception {
        // Left by a version that then mounted afresh elsewhere: not the serving version's state.
        vault.deposit(Layer.FS, fsState());
        long standingBySince = System.nanoTime();
        Bundle taker = new BundleDouble(20).bundle;

        assertNull(vault.awaitDeposit(Layer.FS, FileSystemHandoff.class, taker, standingBySince, 20_000_000L));
    }

    @Test
    void shouldReleaseAStandingByTakerWhenInterruptedOrWhenTheVaultCloses() throws Exception {
        Bundle taker = new BundleDouble(20).bundle;
        Thread.currentThread().interrupt();
        assertThrows(
                InterruptedException.class,
                () -> vault.awaitDeposit(Layer.FS, FileSystemHandoff.class, taker, System.nanoTime(), 30_000_000_000L));

        Thread closer = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            vault.releaseAll();
        });
        assertNull(vault.awaitDeposit(Layer.FS, FileSystemHandoff.class, taker, System.nanoTime(), 30_000_000_000L));
        closer.join();
    }

    @Test
    void shouldBoundThePauseHistoryOfALayer() {
        for (int i = 0; i < ExpiringHandoffVault.PAUSE_HISTORY + 10; i++) {
            vault.pauseObserved(Layer.BLOCK_SCHED, i);
        }
        List<ExpiringHandoffVault.Pause> pauses = vault.pauses(Layer.BLOCK_SCHED);
        assertEquals(ExpiringHandoffVault.PAUSE_HISTORY, pauses.size());
        assertEquals(10, pauses.getFirst().pauseNanos());
        assertNotEquals(pauses.getFirst().sequence(), pauses.getLast().sequence());
    }

    private static Path fdPath(int fd) {
        return Path.of("/proc/self/fd/" + fd);
    }

    /** Whether {@code fd} is open and refers to a pipe. */
    private static boolean isPipe(int fd) {
        try {
            return Files.readSymbolicLink(fdPath(fd)).toString().startsWith("pipe:");
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether {@code fd} is open and refers to the same object it did ({@code target}, e.g. {@code pipe:[123]}). */
    private static boolean isOpenAs(int fd, String target) {
        try {
            return Files.readSymbolicLink(fdPath(fd)).toString().equals(target);
        } catch (IOException e) {
            return false;
        }
    }

    /** pipe(2): a real pair of descriptors, as a layer would deposit its sockets. */
    private static int[] pipe() {
        Linker linker = Linker.nativeLinker();
        MethodHandle pipe = linker.downcallHandle(
                linker.defaultLookup().find("pipe").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            int r = (int) pipe.invokeExact(fds);
            assertEquals(0, r, "pipe(2)");
            return new int[] {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
        } catch (Throwable t) {
            throw new AssertionError("pipe(2)", t);
        }
    }
}
