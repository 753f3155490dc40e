package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HandOverRehearsalTest {

    @Test
    void shouldReplayTheJournalInACrashRecoveryRehearsal() {
        int replayed = HandOverRehearsal.runCrashRecovery(2);
        assertTrue(replayed > 0, "the rehearsal's mount of the crashed copy replayed " + replayed + " transactions");
    }

    @Test
    void shouldRunTheStandbyRehearsalWithoutAFrameworkItDoesNotNeed() {
        new StandbyRehearsal().accept(null);
    }
}
