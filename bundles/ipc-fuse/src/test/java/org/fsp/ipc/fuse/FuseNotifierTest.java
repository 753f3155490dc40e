package org.fsp.ipc.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/**
 * The node table follows changes others make, named by directory inode; the kernel notices themselves go to a
 * descriptor that is not a FUSE connection here (-1), which the notifier shrugs off.
 */
class FuseNotifierTest {

    private static final long ROOT_INO = 2;

    @Test
    void shouldMoveNodesWhenAnotherClientRenames() {
        NodeTable nodes = new NodeTable(ROOT_INO);
        long dir = nodes.lookedUp("/d", 10);
        long file = nodes.lookedUp("/d/f", 11);
        long sub = nodes.lookedUp("/d/s", 12);
        long deep = nodes.lookedUp("/d/s/x", 13);
        FuseNotifier n = new FuseNotifier(nodes, -1);
        n.start("test-notify");
        n.renamed(10, "f", ROOT_INO, "g", false, false);
        assertEquals("/g", nodes.path(file));
        n.renamed(10, "s", ROOT_INO, "t", true, false);
        assertEquals("/t", nodes.path(sub));
        assertEquals("/t/x", nodes.path(deep));
        n.removed(ROOT_INO, "g");
        assertNull(nodes.path(file));
        assertEquals("/d", nodes.path(dir));
        n.stop();
    }

    @Test
    void shouldIgnoreDirectoriesTheKernelNeverLookedUpAndOwnRequests() {
        NodeTable nodes = new NodeTable(ROOT_INO);
        long file = nodes.lookedUp("/f", 11);
        FuseNotifier n = new FuseNotifier(nodes, -1);
        n.removed(99, "f");
        n.changed(11);
        n.changed(99);
        assertEquals("/f", nodes.path(file));
        // A rename into a directory the kernel does not hold: the name it knew is gone.
        n.renamed(ROOT_INO, "f", 99, "f", false, false);
        assertNull(nodes.path(file));
        n.stop();
    }
}
