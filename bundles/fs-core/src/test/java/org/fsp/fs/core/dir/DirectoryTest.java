package org.fsp.fs.core.dir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.FileMode;
import org.fsp.fs.core.alloc.Allocator;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.inode.InodeTable;
import org.fsp.fs.core.journal.Journal;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.testing.FsPieces;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A directory against a map of names: random adds, removes and replaces with names from 1 to 255 bytes (multi-byte
 * UTF-8 included) checked after every step and again after a checkpoint and a reload from the image; readdir's
 * cookies while the directory changes; space reused after removal.
 */
class DirectoryTest {

    private HeapBlockDeviceTestDouble device;
    private FsPieces pieces;
    private BufferCache cache;
    private Allocator alloc;
    private InodeTable table;
    private Journal journal;
    private long dirIno;

    @BeforeEach
    void makeDirectory() throws IOException {
        device = new HeapBlockDeviceTestDouble(4096);
        TestFs.format(device);
        open();
        try (Journal.Handle h = journal.begin()) {
            dirIno = table.create(h.tx(), Geometry.ROOT_INO, FileMode.S_IFDIR | 0755, 0, 0, 1, Geometry.ROOT_INO).ino;
        }
    }

    private void open() throws IOException {
        pieces = FsPieces.open(device);
        FsPieces p = pieces;
        cache = p.cache();
        alloc = p.alloc();
        table = p.table();
        journal = p.journal();
    }

    private Directory dir() throws IOException {
        return Directory.of(table.get(dirIno), cache, alloc, table);
    }

    /** Runs one change under the directory's lock in its own transaction, as fs-core does. */
    private interface Change {
        void apply(Journal.Handle h, Directory d) throws IOException;
    }

    private void change(Change c) throws IOException {
        Inode i = table.get(dirIno);
        try (Journal.Handle h = journal.begin()) {
            i.lock.lock();
            try {
                c.apply(h, Directory.of(i, cache, alloc, table));
            } finally {
                i.lock.unlock();
            }
        }
    }

    private void checkpointAndReload() throws IOException {
        pieces.checkpoint();
        open();
    }

    private static String randomName(Random rnd) {
        int len = 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(120) : rnd.nextInt(12));
        StringBuilder b = new StringBuilder();
        while (b.length() < len) {
            b.append(rnd.nextInt(6) == 0 ? "é" : String.valueOf((char) ('a' + rnd.nextInt(26))));
        }
        String s = b.toString();
        while (s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 255) {
            s = s.substring(1);
        }
        return s;
    }

    private static void assertSame(Map<String, Long> model, Directory d) {
        assertEquals(model.size(), d.entries());
        assertEquals(model.isEmpty(), d.isEmpty());
        for (Map.Entry<String, Long> e : model.entrySet()) {
            Directory.Slot s = d.lookup(e.getKey());
            assertNotNull(s, "lost " + e.getKey());
            assertEquals(e.getValue(), s.ino(), e.getKey());
        }
        Map<String, Long> listed = new HashMap<>();
        long cookie = 0;
        for (List<DirEntry> page; !(page = d.readdir(cookie, 13)).isEmpty(); ) {
            for (DirEntry e : page) {
                assertNull(listed.put(e.name(), e.ino()), "listed twice: " + e.name());
                cookie = e.cookie();
            }
        }
        assertEquals(model, listed);
    }

    @Test
    void randomChangesMatchAMapBeforeAndAfterAReloadFromTheImage() throws IOException {
        Random rnd = new Random(11);
        Map<String, Long> model = new HashMap<>();
        List<String> names = new ArrayList<>();
        for (int step = 0; step < 3000; step++) {
            int what = rnd.nextInt(10);
            if (what < 6 || names.isEmpty()) {
                String name = randomName(rnd);
                if (model.containsKey(name)) {
                    continue;
                }
                long ino = 1000 + step;
                change((h, d) -> d.add(h.tx(), name, ino, FileMode.S_IFREG | 0644));
                model.put(name, ino);
                names.add(name);
            } else if (what < 9) {
                String name = names.remove(rnd.nextInt(names.size()));
                change((h, d) -> d.remove(h.tx(), name));
                model.remove(name);
            } else {
                String name = names.get(rnd.nextInt(names.size()));
                long ino = 500_000 + step;
                change((h, d) -> d.replace(h.tx(), name, ino, FileMode.S_IFREG | 0600));
                model.put(name, ino);
            }
            if (step % 250 == 0) {
                assertSame(model, dir());
            }
        }
        assertSame(model, dir());
        assertTrue(table.get(dirIno).size > Layout.BLOCK_SIZE, "the directory spans several blocks");
        checkpointAndReload();
        assertSame(model, dir());
    }

    @Test
    void readdirReturnsEveryUnchangedEntryOnceWhileOthersComeAndGo() throws IOException {
        Set<String> stable = new HashSet<>();
        for (int i = 0; i < 400; i++) {
            String name = "stable-" + i;
            long ino = 10_000 + i;
            change((h, d) -> d.add(h.tx(), name, ino, FileMode.S_IFREG | 0644));
            stable.add(name);
        }
        List<String> churn = new ArrayList<>();
        Random rnd = new Random(5);
        Set<String> seen = new HashSet<>();
        long cookie = 0;
        int round = 0;
        for (List<DirEntry> page; !(page = dir().readdir(cookie, 9)).isEmpty(); round++) {
            for (DirEntry e : page) {
                if (e.name().startsWith("stable-")) {
                    assertTrue(seen.add(e.name()), "returned twice: " + e.name());
                }
                cookie = e.cookie();
            }
            // Between pages: entries that are not part of the stable set are added and removed.
            String added = "churn-" + round;
            change((h, d) -> d.add(h.tx(), added, 1, FileMode.S_IFREG | 0644));
            churn.add(added);
            if (churn.size() > 3) {
                String gone = churn.remove(rnd.nextInt(churn.size()));
                change((h, d) -> d.remove(h.tx(), gone));
            }
        }
        assertEquals(stable, seen);
    }

    @Test
    void removedEntriesLeaveRoomThatLaterAddsReuse() throws IOException {
        for (int i = 0; i < 2000; i++) {
            String name = "file-" + i;
            change((h, d) -> d.add(h.tx(), name, 7, FileMode.S_IFREG | 0644));
        }
        long size = table.get(dirIno).size;
        for (int i = 0; i < 2000; i++) {
            String name = "file-" + i;
            change((h, d) -> d.remove(h.tx(), name));
        }
        assertTrue(dir().isEmpty());
        for (int i = 0; i < 2000; i++) {
            String name = "again-" + i;
            change((h, d) -> d.add(h.tx(), name, 8, FileMode.S_IFREG | 0644));
        }
        assertEquals(size, table.get(dirIno).size, "re-adding as many entries grew the directory");
        checkpointAndReload();
        assertEquals(2000, dir().entries());
    }
}
