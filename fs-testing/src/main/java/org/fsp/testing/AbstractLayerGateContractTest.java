package org.fsp.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.handoff.LayerGate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The {@link LayerGate} contract, run against the gate itself and against every boundary built on it (the channels'
 * gate in front of the file system, the FUSE front end's): a request waits while no service is bound and runs on the
 * next one; it gets nothing (and fails with EIO) once it has waited longer than the limit; an unbind returns only
 * once no request is inside the service; binding a second service before the first goes sends new requests there
 * with no pause; the pause from an unbind that left the boundary empty to the next bind is measured; and under
 * concurrent requests no request is ever inside a service after its unbind has returned.
 *
 * <p>A typical subclass adapts its boundary in {@link #newBoundary} and makes services with {@link #newService()}.
 *
 * @param <S> the service behind the boundary
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class AbstractLayerGateContractTest<S> {

    /** A boundary under test in the gate's words. */
    protected interface Boundary<S> {

        /** Binds {@code service}; returns the pause it ended in ns, or -1. */
        long bind(S service);

        /** Unbinds {@code service}; returns once no request is inside it. */
        void unbind(S service);

        /** Enters as a request does, waiting up to the limit; null if no service came (the request fails). */
        LayerGate.Entry<S> enter();
    }

    /** A boundary with no service bound yet whose requests wait up to {@code waitLimitMillis}. */
    protected abstract Boundary<S> newBoundary(long waitLimitMillis);

    /** A distinct service to bind. */
    protected abstract S newService();

    @Test
    void shouldFailARequestThatFindsNoServiceWithinTheWaitLimit() {
        Boundary<S> b = newBoundary(50);
        long start = System.nanoTime();
        assertNull(b.enter(), "no service was ever bound");
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(40), "it waited for the limit first");
    }

    @Test
    void shouldHoldARequestUntilTheNextServiceIsBound() throws Exception {
        Boundary<S> b = newBoundary(10_000);
        S first = newService();
        S next = newService();
        b.bind(first);
        b.unbind(first);
        CompletableFuture<LayerGate.Entry<S>> request = CompletableFuture.supplyAsync(b::enter);
        Thread.sleep(100);
        assertFalse(request.isDone(), "a request waits while no service is bound");
        b.bind(next);
        LayerGate.Entry<S> in = request.get(5, TimeUnit.SECONDS);
        assertNotNull(in);
        assertSame(next, in.service());
        in.exit();
    }

    @Test
    void shouldReturnFromUnbindOnlyOnceNoRequestIsInside() throws Exception {
        Boundary<S> b = newBoundary(10_000);
        S service = newService();
        b.bind(service);
        LayerGate.Entry<S> in = b.enter();
        assertSame(service, in.service());
        CompletableFuture<Void> unbind = CompletableFuture.runAsync(() -> b.unbind(service));
        Thread.sleep(150);
        assertFalse(unbind.isDone(), "unbind returned while a request was inside");
        in.exit();
        unbind.get(5, TimeUnit.SECONDS);
    }

    @Test
    void shouldSendNewRequestsToASecondServiceBoundBeforeTheFirstGoes() throws Exception {
        Boundary<S> b = newBoundary(10_000);
        S older = newService();
        S newer = newService();
        b.bind(older);
        LayerGate.Entry<S> inOlder = b.enter();
        assertEquals(-1, b.bind(newer), "make before break: no pause");
        LayerGate.Entry<S> inNewer = b.enter();
        assertSame(newer, inNewer.service(), "new requests go to the service bound last");
        CompletableFuture<Void> unbind = CompletableFuture.runAsync(() -> b.unbind(older));
        Thread.sleep(100);
        assertFalse(unbind.isDone(), "the request inside the older service holds its unbind");
        inOlder.exit();
        unbind.get(5, TimeUnit.SECONDS);
        inNewer.exit();
        LayerGate.Entry<S> again = b.enter();
        assertSame(newer, again.service());
        again.exit();
    }

    @Test
    void shouldMeasureThePauseFromTheUnbindToTheNextBind() throws Exception {
        Boundary<S> b = newBoundary(10_000);
        S service = newService();
        assertEquals(-1, b.bind(service), "the first bind ends no pause");
        b.unbind(service);
        Thread.sleep(120);
        long pause = b.bind(service);
        assertTrue(pause >= TimeUnit.MILLISECONDS.toNanos(100), "pause " + pause + " ns, unbound 120 ms ago");
    }

    /**
     * Threads entering and leaving while the service is unbound and bound again over and over: nobody may be inside
     * between an unbind's return and the next bind.
     */
    @Test
    void shouldNeverLetARequestIntoAnUnboundService() throws Exception {
        Boundary<S> b = newBoundary(30_000);
        S service = newService();
        b.bind(service);
        AtomicBoolean unbound = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong violations = new AtomicLong();
        AtomicLong entries = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    LayerGate.Entry<S> in = b.enter();
                    if (in != null) {
                        if (unbound.get()) {
                            violations.incrementAndGet();
                        }
                        entries.incrementAndGet();
                        in.exit();
                    }
                }
            }));
        }
        for (int round = 0; round < 2_000; round++) {
            b.unbind(service);
            unbound.set(true);
            Thread.onSpinWait();
            unbound.set(false);
            b.bind(service);
        }
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(0, violations.get(), "entries into an unbound service");
        assertTrue(entries.get() > 0);
    }
}
