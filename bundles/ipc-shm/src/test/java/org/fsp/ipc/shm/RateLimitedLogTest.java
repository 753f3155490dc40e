package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class RateLimitedLogTest {

    @Test
    void shouldLogOneLinePerKindPerIntervalAndSayHowManyWereLeftOut() {
        Logger logger = (Logger) LoggerFactory.getLogger("rate-limited-log-test");
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        AtomicLong now = new AtomicLong(1_000);
        RateLimitedLog log = new RateLimitedLog(logger, 100, now::get);
        assertTrue(log.warn("a", "first {}", 1));
        for (int i = 0; i < 5; i++) {
            assertFalse(log.warn("a", "again {}", i));
        }
        assertTrue(log.warn("b", "other kind"), "each kind has its own interval");
        now.addAndGet(100);
        assertTrue(log.warn("a", "later"));
        assertEquals(3, lines.list.size());
        assertEquals(
                "[a] later (and 5 more since the last line of this kind)",
                lines.list.get(2).getFormattedMessage());
        assertEquals(7, log.count("a"));
        assertEquals(1, log.counts().get("b"));
    }
}
