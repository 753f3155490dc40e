package org.fsp.ipc.fuse;

import static org.fsp.ipc.fuse.FuseOpcodes.FUSE_INIT_EXT;
import static org.fsp.ipc.fuse.FuseOpcodes.FUSE_OVER_IO_URING_FLAGS2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.fsp.ipc.fuse.FuseRequest.Header;
import org.fsp.ipc.fuse.FuseRequest.Init;
import org.junit.jupiter.api.Test;

class FuseConnectionTest {

    private static final Header HEADER = new Header(FuseOpcodes.INIT, 1, 0, 0, 0, 0);

    private static Init offer(int flags, int flags2) {
        return new Init(HEADER, 7, 45, 131072, flags, flags2);
    }

    @Test
    void shouldAskForIoUringWhenWantedAndOffered() {
        FuseConnection c = new FuseConnection(false, true);
        FuseReply.Init reply =
                assertInstanceOf(FuseReply.Init.class, c.negotiate(offer(-1, FUSE_OVER_IO_URING_FLAGS2)));
        assertEquals(FUSE_INIT_EXT, reply.flags() & FUSE_INIT_EXT);
        assertEquals(FUSE_OVER_IO_URING_FLAGS2, reply.flags2());
        assertTrue(c.overIoUring());
    }

    @Test
    void shouldStayClassicWhenTheKernelDoesNotOfferIoUring() {
        FuseConnection c = new FuseConnection(false, true);
        FuseReply.Init reply = assertInstanceOf(FuseReply.Init.class, c.negotiate(offer(-1, 0)));
        assertEquals(0, reply.flags() & FUSE_INIT_EXT);
        assertEquals(0, reply.flags2());
        assertFalse(c.overIoUring());
    }

    @Test
    void shouldStayClassicWhenIoUringIsNotWanted() {
        FuseConnection c = new FuseConnection(false, false);
        FuseReply.Init reply =
                assertInstanceOf(FuseReply.Init.class, c.negotiate(offer(-1, FUSE_OVER_IO_URING_FLAGS2)));
        assertEquals(0, reply.flags2());
        assertFalse(c.overIoUring());
    }

    @Test
    void shouldKnowFromHandedFlagsThatAPreviousVersionSettledIoUring() {
        FuseConnection c = new FuseConnection(false, false);
        c.restore(31, 45, FuseConnection.WANTED | FUSE_INIT_EXT);
        assertTrue(c.overIoUring());
        c.restore(31, 45, FuseConnection.WANTED);
        assertFalse(c.overIoUring());
    }

    @Test
    void shouldRunTheListenerOnlyOnceInitsAnswerIsWritten() {
        FuseConnection c = new FuseConnection(false, true);
        int[] runs = {0};
        c.onInitAnswered(() -> runs[0]++);
        c.negotiate(offer(-1, FUSE_OVER_IO_URING_FLAGS2));
        assertEquals(0, runs[0]);
        c.initAnswered();
        assertEquals(1, runs[0]);
    }
}
