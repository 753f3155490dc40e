package org.fsp.ipc.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FuseTransportTest {

    @TempDir
    Path dir;

    @Test
    void shouldParseTheThreeChoicesAndUnsetAsAuto() {
        assertEquals(FuseTransport.AUTO, FuseTransport.parse(""));
        assertEquals(FuseTransport.AUTO, FuseTransport.parse("auto"));
        assertEquals(FuseTransport.AUTO, FuseTransport.parse(null));
        assertEquals(FuseTransport.URING, FuseTransport.parse(" io_uring "));
        assertEquals(FuseTransport.URING, FuseTransport.parse("URING"));
        assertEquals(FuseTransport.CLASSIC, FuseTransport.parse("classic"));
        assertThrows(IllegalArgumentException.class, () -> FuseTransport.parse("splice"));
    }

    @Test
    void shouldSayWhyIoUringIsUnavailableWhenTheKernelSwitchIsOff() throws Exception {
        Path flag = Files.writeString(dir.resolve("enable_uring"), "N\n");
        String why = FuseTransport.uringUnavailable(flag);
        assertTrue(why.contains("is N (root may write Y to it)"), why);
    }

    @Test
    void shouldSayWhyIoUringIsUnavailableOnAKernelWithoutIt() {
        String why = FuseTransport.uringUnavailable(dir.resolve("absent"));
        assertTrue(why.contains("no FUSE-over-io_uring"), why);
    }
}
