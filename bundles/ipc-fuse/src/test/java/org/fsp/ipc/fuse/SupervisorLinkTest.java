package org.fsp.ipc.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SupervisorLinkTest {

    @Test
    void shouldReadTheMountsTheLauncherListsWithSpacesInTheirPaths() {
        SupervisorLink.Handed a = new SupervisorLink.Handed(3, 31, 45, 0x4cf42b, 1, List.of(7, 8, 9), Path.of("/m n"));
        SupervisorLink.Handed b = new SupervisorLink.Handed(1, -1, -1, 0, 1, List.of(12), Path.of("/other"));
        List<SupervisorLink.Handed> back = SupervisorLink.Handed.parse(a.line() + "\n" + b.line() + "\n");
        assertEquals(List.of(a, b), back);
        assertTrue(SupervisorLink.Handed.parse(null).isEmpty());
        assertNull(SupervisorLink.of(" "), "unsupervised: no link");
    }
}
