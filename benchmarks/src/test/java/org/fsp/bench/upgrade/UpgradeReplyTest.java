package org.fsp.bench.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class UpgradeReplyTest {

    @Test
    void shouldReadThePauseAndTheWholeUpgradeFromASideBySideUpgrade() {
        UpgradeReply r = UpgradeReply.parse(
                "fs-core 0.1.0.202611210228 -> 0.2.0.202611210239: upgraded in 248.468 ms (side by side); pause 61.900 ms\n");

        assertTrue(r.upgraded());
        assertEquals("fs-core", r.layer());
        assertEquals("0.1.0.202611210228", r.fromVersion());
        assertEquals("0.2.0.202611210239", r.toVersion());
        assertEquals("side by side", r.method());
        assertEquals(248_468_000, r.tookNanos());
        assertEquals(61_900_000, r.pauseNanos());
    }

    @Test
    void shouldReadAnUnreportedPauseAndNotesAfterIt() {
        UpgradeReply r =
                UpgradeReply.parse("some banner\nipc-shm 0.1.0.1 -> 0.1.0.1: upgraded in 110.819 ms (in place);"
                        + " pause not reported; the refresh of the updated bundle restarted it (a second pause)");

        assertTrue(r.upgraded());
        assertEquals("in place", r.method());
        assertEquals(-1, r.pauseNanos());
    }

    @Test
    void shouldTellARefusedUpgradeFromASuccessfulOne() {
        UpgradeReply r = UpgradeReply.parse("ipc-shm 0.1.0.2 -> -: refused: cannot read file:/nonexist.jar:"
                + " java.io.FileNotFoundException: /nonexist.jar (No such file or directory)");

        assertFalse(r.upgraded());
        assertEquals("refused", r.outcome());
        assertEquals(-1, r.tookNanos());
    }

    @Test
    void shouldRejectAReplyWithoutASummary() {
        assertThrows(IllegalArgumentException.class, () -> UpgradeReply.parse("gogo: CommandNotFoundException"));
    }
}
