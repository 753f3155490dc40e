package org.fsp.ipc.shm;

import org.fsp.api.sched.ThreadModel;
import org.fsp.testing.AbstractThreadModelContractTest;

/** The thread-model contract on the test double ipc-shm's tests run their lanes on: it must behave as the real one. */
class ThreadPerAgentModelDoubleContractTest extends AbstractThreadModelContractTest {

    @Override
    protected ThreadModel createThreadModel() {
        return new ThreadPerAgentModelDouble();
    }

    @Override
    protected boolean reconfigurable() {
        return false;
    }
}
