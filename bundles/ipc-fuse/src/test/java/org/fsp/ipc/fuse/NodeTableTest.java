package org.fsp.ipc.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class NodeTableTest {

    private final NodeTable table = new NodeTable(1);

    @Test
    void shouldGiveTheSameNodeToRepeatedLookupsAndCountThem() {
        long a = table.lookedUp("/a", 10);
        assertEquals(a, table.lookedUp("/a", 10));
        assertEquals(2, table.lookups(a));
        assertEquals("/a", table.path(a));
    }

    @Test
    void shouldDropANodeOnlyWhenEveryLookupIsForgotten() {
        long a = table.lookedUp("/a", 10);
        table.lookedUp("/a", 10);
        table.forget(a, 1);
        assertTrue(table.known(a));
        table.forget(a, 1);
        assertFalse(table.known(a));
        assertNull(table.path(a));
        assertEquals(a, table.lookedUp("/a", 10), "a node id is its inode number: the same again");
    }

    @Test
    void shouldMakeNodeIdsTheInodeNumbersWithTheRootsSwapped() {
        assertEquals(10, table.lookedUp("/a", 10));
        NodeTable other = new NodeTable(5);
        assertEquals(FuseAbi.ROOT_ID, other.idOf(5));
        assertEquals(5, other.idOf(FuseAbi.ROOT_ID), "inode 1 takes the root inode's number");
        assertEquals(7, other.idOf(7));
        assertEquals(5, other.inoOf(FuseAbi.ROOT_ID));
    }

    @Test
    void shouldRelearnANodeTheKernelHoldsFromAnotherProcessWithoutCountingLookups() {
        assertFalse(table.known(42), "a fresh table after a take-over knows only the root");
        table.relearned(42, "/d/x");
        assertEquals("/d/x", table.path(42));
        assertEquals(0, table.lookups(42));
        assertEquals(42, table.lookedUp("/d/x", 42), "the kernel's next lookup finds the same node");
        table.forget(42, 5); // the kernel's count from before the take-over: more than this table saw
        assertFalse(table.known(42), "a FORGET of a count not known here drops the node");
        table.relearned(42, "/d/x");
        assertEquals("/d/x", table.path(42), "and its next request learns it again");
    }

    @Test
    void shouldNeverForgetTheRoot() {
        table.forget(FuseAbi.ROOT_ID, 1_000);
        assertEquals("/", table.path(FuseAbi.ROOT_ID));
    }

    @Test
    void shouldMoveADirectoryAndEverythingUnderItOnRename() {
        long d = table.lookedUp("/d", 2);
        long f = table.lookedUp("/d/f", 3);
        long deep = table.lookedUp("/d/e/g", 4);
        long sibling = table.lookedUp("/dx", 5);
        table.renamed("/d", "/n", true);
        assertEquals("/n", table.path(d));
        assertEquals("/n/f", table.path(f));
        assertEquals("/n/e/g", table.path(deep));
        assertEquals("/dx", table.path(sibling), "a name sharing the prefix is not under it");
        assertEquals(f, table.lookedUp("/n/f", 3));
    }

    @Test
    void shouldLeaveTheReplacedTargetOfARenameWithoutAPath() {
        long a = table.lookedUp("/a", 2);
        long b = table.lookedUp("/b", 3);
        table.renamed("/a", "/b", false);
        assertEquals("/b", table.path(a));
        assertNull(table.path(b));
        assertTrue(table.known(b), "the kernel still holds it until FORGET");
    }

    @Test
    void shouldSwapNodesOnExchange() {
        long a = table.lookedUp("/a", 2);
        long ac = table.lookedUp("/a/c", 4);
        long b = table.lookedUp("/b", 3);
        table.exchanged("/a", "/b");
        assertEquals("/b", table.path(a));
        assertEquals("/b/c", table.path(ac));
        assertEquals("/a", table.path(b));
    }

    @Test
    void shouldKeepAnUnlinkedNodeReachableThroughItsOpenFiles() {
        long a = table.lookedUp("/a", 2);
        table.opened(a, 77);
        table.removed("/a");
        assertNull(table.path(a));
        assertEquals(77, table.anyHandle(a));
        assertEquals(List.of(77L), table.allHandles());
        table.released(a, 77);
        assertEquals(-1, table.anyHandle(a));
    }

    @Test
    void shouldGiveANewNodeWhenTheNameNowHoldsAnotherInode() {
        long a = table.lookedUp("/a", 2);
        long other = table.lookedUp("/a", 9);
        assertNotEquals(a, other);
        assertNull(table.path(a));
        assertEquals("/a", table.path(other));
    }

    @Test
    void shouldMakeHardLinksOneNodeThatKeepsItsOtherNames() {
        long a = table.lookedUp("/a", 7);
        long b = table.lookedUp("/dir/b", 7);
        assertEquals(a, b, "the kernel must see one inode, or its caches of the two names drift apart");
        assertEquals(2, table.lookups(a));
        table.removed("/a");
        assertEquals("/dir/b", table.path(a));
        table.removed("/dir/b");
        assertNull(table.path(a));
        assertEquals(a, table.lookedUp("/c", 7), "the inode's number is its id; its generation tells reuse apart");
    }

    @Test
    void shouldCarryIdsNamesCountsAndHandlesAcrossExportAndRestore() {
        long a = table.lookedUp("/a", 7);
        table.lookedUp("/d/b", 7);
        long d = table.lookedUp("/d", 3);
        table.opened(a, 55);
        NodeTable next = NodeTable.restore(table.export());
        assertEquals(table.size(), next.size());
        assertEquals(2, next.lookups(a));
        assertEquals("/d", next.path(d));
        assertEquals(55, next.anyHandle(a));
        assertEquals(a, next.lookedUp("/a", 7), "the same name finds the same node");
        assertEquals(99, next.lookedUp("/new", 99));
        next.renamed("/d", "/e", true);
        assertEquals("/e/b", next.path(a));
    }

    @Test
    void shouldIgnoreForgetsOfUnknownNodes() {
        table.forget(12345, 1);
        assertEquals(1, table.size());
    }

    @Test
    void shouldBuildChildPathsFromTheRootAndBelow() {
        assertEquals("/x", NodeTable.child("/", "x"));
        assertEquals("/a/x", NodeTable.child("/a", "x"));
    }
}
