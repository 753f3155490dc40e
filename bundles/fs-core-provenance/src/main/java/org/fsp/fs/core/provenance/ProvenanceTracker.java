package org.fsp.fs.core.provenance;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;
import org.fsp.api.fs.Credentials;
import org.fsp.fs.core.FileObserver;

/**
 * Which process created each file and which last wrote it, for every inode created or written since tracking began
 * (when fs-core with provenance was first installed; the records cross later upgrades to newer versions of it).
 *
 * <p>A typical sequence is: the file system calls {@link #created}, {@link #written} and {@link #freed} as a
 * {@link FileObserver}; the shell asks {@link #of(long)}; at a live upgrade {@link #encode()} produces the bytes the
 * next version gives to {@link #decode}.
 *
 * <p>Cost on the write path: a write by the process that wrote the file last is one map look-up and one volatile
 * store of the time; only a change of writer looks the process up (its command name is read from
 * {@code /proc/<pid>/comm} once per process, and again after {@link #PROCESS_REFRESH_MILLIS}, since a pid can be
 * reused by another program). The pid and uid are the kernel's (SO_PEERCRED when the client connected); pid 0 is the
 * FS process itself.
 */
public final class ProvenanceTracker implements FileObserver {

    /** Feature name in {@link org.fsp.api.handoff.FileSystemHandoff#extensions()}. */
    public static final String FEATURE = "provenance";
    /** A process's command name is read again after this long, in case its pid now belongs to another program. */
    static final long PROCESS_REFRESH_MILLIS = 10_000;
    /** At most this many processes are remembered; the table starts afresh when it is full. */
    private static final int MAX_PROCESSES = 4096;

    /** "PROV": the first field of {@link #encode()}'s bytes. */
    private static final int MAGIC = 0x50524F56;
    /** The layout of {@link #encode()}'s bytes; {@link #decode} refuses any other. */
    private static final int FORMAT_VERSION = 1;

    /**
     * A process as seen when it created or wrote a file.
     *
     * @param pid process id (0: the FS process itself)
     * @param uid effective user id
     * @param command the command name ({@code /proc/<pid>/comm}), {@code "?"} if it could not be read
     */
    public record Process(int pid, int uid, String command) {}

    /**
     * What is known of one file.
     *
     * @param creator who created it, or null if it was created before tracking began
     * @param createdAtMillis when, ms since the epoch (0 with no creator)
     * @param lastWriter who last changed its data (write or truncate), or null if nobody did since tracking began
     * @param lastWrittenAtMillis when, ms since the epoch (0 with no writer)
     */
    public record FileProvenance(Process creator, long createdAtMillis, Process lastWriter, long lastWrittenAtMillis) {}

    /** One file's live record: the writer changes rarely, the time on every write. */
    private static final class Entry {
        final Process creator;
        final long createdAtMillis;
        volatile Process lastWriter;
        volatile long lastWrittenAtMillis;

        Entry(Process creator, long createdAtMillis) {
            this.creator = creator;
            this.createdAtMillis = createdAtMillis;
        }
    }

    /** A remembered process and when its command name was read. */
    private record Seen(Process process, long atMillis) {}

    private final ConcurrentHashMap<Long, Entry> files = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, Seen> processes = new ConcurrentHashMap<>();
    private final LongSupplier clockMillis;
    private final IntFunction<String> commandOfPid;
    /** When tracking began, ms since the epoch; taken from the previous version by {@link #decode}. */
    private volatile long sinceMillis;

    /** Tracks with the wall clock and the command names of {@code /proc}. */
    public ProvenanceTracker() {
        this(System::currentTimeMillis, ProvenanceTracker::procCommand);
    }

    /**
     * @param clockMillis ms since the epoch
     * @param commandOfPid a process's command name (pid 0 is the FS process itself); null or blank if unknown
     */
    public ProvenanceTracker(LongSupplier clockMillis, IntFunction<String> commandOfPid) {
        this.clockMillis = clockMillis;
        this.commandOfPid = commandOfPid;
        this.sinceMillis = clockMillis.getAsLong();
    }

    /** {@code /proc/<pid>/comm}, or for pid 0 (the FS process acting for itself) {@code "fspd"}. */
    static String procCommand(int pid) {
        if (pid == 0) {
            return "fspd";
        }
        try {
            return Files.readString(Path.of("/proc", Integer.toString(pid), "comm"), StandardCharsets.UTF_8)
                    .strip();
        } catch (IOException | UncheckedIOException e) {
            // The process has exited already (or /proc is not there): its pid and uid are still worth recording.
            return null;
        }
    }

    @Override
    public void created(Credentials who, long ino) {
        long now = clockMillis.getAsLong();
        // put, not putIfAbsent: a record left for a reused inode number (none should be, see freed) is replaced.
        files.put(ino, new Entry(process(who, now), now));
    }

    @Override
    public void written(Credentials who, long ino) {
        Entry e = files.get(ino);
        if (e == null) {
            e = files.computeIfAbsent(ino, k -> new Entry(null, 0));
        }
        long now = clockMillis.getAsLong();
        Process w = e.lastWriter;
        if (w == null || w.pid() != who.pid() || w.uid() != who.uid()) {
            e.lastWriter = process(who, now);
        }
        e.lastWrittenAtMillis = now;
    }

    @Override
    public void freed(long ino) {
        files.remove(ino);
    }

    /** The process behind {@code who}, its command name read when first seen or when the entry is stale. */
    private Process process(Credentials who, long now) {
        Seen s = processes.get(who.pid());
        if (s != null && s.process().uid() == who.uid() && now - s.atMillis() < PROCESS_REFRESH_MILLIS) {
            return s.process();
        }
        String command = commandOfPid.apply(who.pid());
        Process p = new Process(who.pid(), who.uid(), command == null || command.isBlank() ? "?" : command);
        if (processes.size() >= MAX_PROCESSES) {
            processes.clear();
        }
        processes.put(who.pid(), new Seen(p, now));
        return p;
    }

    /** What is known of inode {@code ino}, or null if nothing was recorded for it since tracking began. */
    public FileProvenance of(long ino) {
        Entry e = files.get(ino);
        if (e == null) {
            return null;
        }
        Process w = e.lastWriter;
        return new FileProvenance(e.creator, e.createdAtMillis, w, w == null ? 0 : e.lastWrittenAtMillis);
    }

    /** Inodes with a record. */
    public int files() {
        return files.size();
    }

    /** When tracking began, ms since the epoch. */
    public long sinceMillis() {
        return sinceMillis;
    }

    /**
     * Every record as bytes for the next version. Call it when no file system call runs (after a quiesce): records
     * changed meanwhile may be missed.
     *
     * <pre>
     * int magic "PROV", int format version (1), long sinceMillis,
     * int processes, each: int pid, int uid, UTF command
     * int files, each: long ino, int creator (index into processes, -1: none), long createdAtMillis,
     *                  int lastWriter (index, -1: none), long lastWrittenAtMillis
     * </pre>
     */
    public byte[] encode() {
        Map<Process, Integer> index = new IdentityHashMap<>();
        List<Process> table = new ArrayList<>();
        List<Map.Entry<Long, Entry>> entries = new ArrayList<>(files.entrySet());
        for (Map.Entry<Long, Entry> e : entries) {
            for (Process p : new Process[] {e.getValue().creator, e.getValue().lastWriter}) {
                if (p != null && !index.containsKey(p)) {
                    index.put(p, table.size());
                    table.add(p);
                }
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + entries.size() * 32);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(MAGIC);
            out.writeInt(FORMAT_VERSION);
            out.writeLong(sinceMillis);
            out.writeInt(table.size());
            for (Process p : table) {
                out.writeInt(p.pid());
                out.writeInt(p.uid());
                out.writeUTF(p.command());
            }
            out.writeInt(entries.size());
            for (Map.Entry<Long, Entry> e : entries) {
                Entry f = e.getValue();
                Process w = f.lastWriter;
                out.writeLong(e.getKey());
                out.writeInt(f.creator == null ? -1 : index.get(f.creator));
                out.writeLong(f.createdAtMillis);
                out.writeInt(w == null ? -1 : index.get(w));
                out.writeLong(w == null ? 0 : f.lastWrittenAtMillis);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot happen: writing to memory", e);
        }
        return bytes.toByteArray();
    }

    /**
     * Takes the records {@link #encode()} produced (in this or an earlier instance), replacing any this tracker has,
     * and the time tracking began.
     *
     * @throws IOException if the bytes are not of a format this version knows (nothing is changed then)
     */
    public void decode(byte[] data) throws IOException {
        Map<Long, Entry> decoded = new HashMap<>();
        long since;
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            int magic = in.readInt();
            if (magic != MAGIC) {
                throw new IOException("not provenance records (magic 0x" + Integer.toHexString(magic) + ")");
            }
            int version = in.readInt();
            if (version != FORMAT_VERSION) {
                throw new IOException("provenance records of format " + version + "; this version reads format "
                        + FORMAT_VERSION + " only");
            }
            since = in.readLong();
            int processCount = in.readInt();
            Process[] table = new Process[processCount];
            for (int k = 0; k < processCount; k++) {
                table[k] = new Process(in.readInt(), in.readInt(), in.readUTF());
            }
            int fileCount = in.readInt();
            for (int k = 0; k < fileCount; k++) {
                long ino = in.readLong();
                int creator = in.readInt();
                long createdAt = in.readLong();
                int writer = in.readInt();
                long writtenAt = in.readLong();
                Entry e = new Entry(creator < 0 ? null : table[creator], createdAt);
                if (writer >= 0) {
                    e.lastWriter = table[writer];
                    e.lastWrittenAtMillis = writtenAt;
                }
                decoded.put(ino, e);
            }
            if (in.read() != -1) {
                throw new IOException("provenance records: trailing bytes after " + fileCount + " files");
            }
        } catch (ArrayIndexOutOfBoundsException | NegativeArraySizeException e) {
            throw new IOException("provenance records are corrupt: " + e.getMessage(), e);
        }
        files.clear();
        files.putAll(decoded);
        sinceMillis = since;
    }
}
