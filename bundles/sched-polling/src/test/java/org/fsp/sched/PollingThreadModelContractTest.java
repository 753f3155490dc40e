package org.fsp.sched;

import org.fsp.api.sched.IdleStrategyKind;
import org.fsp.api.sched.ThreadModel;
import org.fsp.testing.AbstractThreadModelContractTest;

/** The thread-model contract on sched-polling's polling workers, two of them with the futex idle strategy. */
class PollingThreadModelContractTest extends AbstractThreadModelContractTest {

    @Override
    protected ThreadModel createThreadModel() {
        return new PollingThreadModel(2, IdleStrategyKind.FUTEX, new IdleSettings(100, 5, 50_000_000L));
    }

    @Override
    protected void closeThreadModel(ThreadModel m) {
        ((PollingThreadModel) m).close();
    }
}
