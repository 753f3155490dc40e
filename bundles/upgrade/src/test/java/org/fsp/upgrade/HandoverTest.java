package org.fsp.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.fsp.api.handoff.HandoverMethod;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;

/** The order in which each hand-over method starts, stops and waits for the two versions, and how each fails. */
class HandoverTest {

    private final List<String> events = new ArrayList<>();

    /** A bundle that records start and stop in {@link #events}; the calls named in {@code failing} throw. */
    private Bundle bundle(String name, Set<String> failing) {
        return (Bundle) Proxy.newProxyInstance(
                Bundle.class.getClassLoader(), new Class<?>[] {Bundle.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "start", "stop" -> {
                            events.add(name + "." + method.getName());
                            if (failing.contains(method.getName())) {
                                throw new BundleException(name + " " + method.getName() + " failed (test double)");
                            }
                            return null;
                        }
                        case "toString" -> {
                            return name;
                        }
                        case "hashCode" -> {
                            return System.identityHashCode(proxy);
                        }
                        case "equals" -> {
                            return proxy == args[0];
                        }
                        default -> throw new UnsupportedOperationException(method.getName());
                    }
                });
    }

    /** Readiness that records each wait; the waits numbered in {@code failAt} (from 1) report a failure. */
    private Readiness readiness(int... failAt) {
        int[] calls = {0};
        return (b, withService) -> {
            calls[0]++;
            events.add("await " + b + (withService ? " serving" : " standing by"));
            for (int f : failAt) {
                if (f == calls[0]) {
                    return "not up (test double)";
                }
            }
            return null;
        };
    }

    private final Bundle old = bundle("old", Set.of());
    private final Bundle fresh = bundle("fresh", Set.of());
    private final List<String> notes = new ArrayList<>();

    @Test
    void stopStartStopsTheOldVersionBeforeStartingTheNew() throws InterruptedException {
        Handover.Result r = Handover.of(HandoverMethod.STOP_START).handOver(old, fresh, readiness(), notes);
        assertTrue(r.up());
        assertEquals(List.of("old.stop", "fresh.start", "await fresh serving"), events);
    }

    @Test
    void stopStartFailureAfterTheStopAsksForTheOldVersionBack() throws InterruptedException {
        Handover.Result r = Handover.of(HandoverMethod.STOP_START).handOver(old, fresh, readiness(1), notes);
        assertFalse(r.up());
        assertTrue(r.oldStopped());
    }

    @Test
    void makeBeforeBreakServesWithTheNewVersionBeforeStoppingTheOld() throws InterruptedException {
        Handover.Result r = Handover.of(HandoverMethod.MAKE_BEFORE_BREAK).handOver(old, fresh, readiness(), notes);
        assertTrue(r.up());
        assertEquals(List.of("fresh.start", "await fresh serving", "old.stop"), events);
    }

    @Test
    void makeBeforeBreakNeverStopsTheOldVersionWhenTheNewDoesNotComeUp() throws InterruptedException {
        Handover.Result r = Handover.of(HandoverMethod.MAKE_BEFORE_BREAK).handOver(old, fresh, readiness(1), notes);
        assertFalse(r.up());
        assertFalse(r.oldStopped());
        assertEquals(List.of("fresh.start", "await fresh serving"), events);
    }

    @Test
    void makeBeforeBreakNotesAnOldVersionThatStopsBadly() throws InterruptedException {
        Bundle stubborn = bundle("old", Set.of("stop"));
        Handover.Result r = Handover.of(HandoverMethod.MAKE_BEFORE_BREAK).handOver(stubborn, fresh, readiness(), notes);
        assertTrue(r.up());
        assertEquals(1, notes.size());
        assertTrue(notes.getFirst().contains("did not stop cleanly"), notes.getFirst());
    }

    @Test
    void standbyWaitsForTheNewVersionToStandByThenStopsTheOldAndWaitsForTheAdoption() throws InterruptedException {
        Handover.Result r = Handover.of(HandoverMethod.STANDBY).handOver(old, fresh, readiness(), notes);
        assertTrue(r.up());
        assertEquals(List.of("fresh.start", "await fresh standing by", "old.stop", "await fresh serving"), events);
    }

    @Test
    void standbyThatIsNeverReachedLeavesTheOldVersionServing() throws InterruptedException {
        Handover.Result r = Handover.of(HandoverMethod.STANDBY).handOver(old, fresh, readiness(1), notes);
        assertFalse(r.up());
        assertFalse(r.oldStopped());
        assertEquals(List.of("fresh.start", "await fresh standing by"), events);
    }

    @Test
    void standbyThatDoesNotAdoptIsAFailureAfterTheOldVersionStopped() throws InterruptedException {
        Handover.Result r = Handover.of(HandoverMethod.STANDBY).handOver(old, fresh, readiness(2), notes);
        assertFalse(r.up());
        assertTrue(r.oldStopped());
    }

    @Test
    void aNewVersionThatFailsToStartIsAFailureBeforeTheOldStops() throws InterruptedException {
        Bundle broken = bundle("fresh", Set.of("start"));
        for (HandoverMethod m : List.of(HandoverMethod.MAKE_BEFORE_BREAK, HandoverMethod.STANDBY)) {
            events.clear();
            Handover.Result r = Handover.of(m).handOver(old, broken, readiness(), notes);
            assertFalse(r.up(), m.toString());
            assertFalse(r.oldStopped(), m.toString());
            assertFalse(events.contains("old.stop"), m + ": " + events);
        }
    }
}
