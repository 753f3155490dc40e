package org.fsp.api.handoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HandoverMethodTest {

    @Test
    void aBundleWithoutTheHeaderIsStoppedThenStarted() {
        assertEquals(HandoverMethod.STOP_START, HandoverMethod.ofHeader(null));
        assertEquals(HandoverMethod.STOP_START, HandoverMethod.ofHeader("  "));
    }

    @Test
    void everyMethodReadsBackFromItsHeaderValue() {
        for (HandoverMethod m : HandoverMethod.values()) {
            assertEquals(m, HandoverMethod.ofHeader(m.headerValue()));
            assertEquals(m, HandoverMethod.ofHeader(" " + m.headerValue().toUpperCase() + " "));
        }
    }

    @Test
    void anUnknownValueIsAnErrorThatListsTheKnownOnes() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> HandoverMethod.ofHeader("make-before-brake"));
        assertTrue(e.getMessage().contains("make-before-brake"), e.getMessage());
        assertTrue(e.getMessage().contains("stop-start, make-before-break, standby"), e.getMessage());
    }
}
