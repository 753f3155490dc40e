package org.fsp.testing;

import org.fsp.api.sched.ThreadModel;

/** The thread-model contract on the test double other layers' tests run their agents on: it must behave as the real one. */
class ThreadPerAgentModelDoubleContractTest extends AbstractThreadModelContractTest {

    @Override
    protected ThreadModel createThreadModel() {
        return new ThreadPerAgentModelDouble();
    }

    @Override
    protected void closeThreadModel(ThreadModel m) {
        ((ThreadPerAgentModelDouble) m).close();
    }

    @Override
    protected boolean reconfigurable() {
        return false;
    }
}
