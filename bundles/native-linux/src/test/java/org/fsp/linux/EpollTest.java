package org.fsp.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EpollTest {

    @TempDir
    Path dir;

    @Test
    void shouldReportAOneShotDescriptorOncePerRearm() {
        String path = dir.resolve("e.sock").toString();
        int listener = UnixSockets.listen(path, 4);
        int epfd = Epoll.create();
        int client = -1;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment events = arena.allocate(4L * Epoll.EVENT_BYTES, 8);
            Epoll.add(epfd, listener, Epoll.EPOLLIN | Epoll.EPOLLONESHOT, 0x1234_5678_9abcL);
            assertEquals(0, Epoll.await(epfd, events, 4, 0), "nothing to accept yet");

            client = UnixSockets.connect(path);
            assertEquals(1, Epoll.await(epfd, events, 4, 1_000), "a pending connection is reported");
            assertEquals(0x1234_5678_9abcL, Epoll.data(events, 0));
            assertEquals(0, Epoll.await(epfd, events, 4, 0), "one-shot: silent until rearmed, though still ready");

            Epoll.rearm(epfd, listener, Epoll.EPOLLIN | Epoll.EPOLLONESHOT, 7L);
            assertEquals(1, Epoll.await(epfd, events, 4, 1_000), "rearmed while ready: reported at once");
            assertEquals(7L, Epoll.data(events, 0));
        } finally {
            if (client >= 0) {
                Libc.close(client);
            }
            Libc.close(epfd);
            Libc.close(listener);
        }
    }
}
