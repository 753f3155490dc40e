package org.fsp.fs.core.provenance;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;

/**
 * Gogo command {@code fsp:provenance <path>}: which process created the file and which last wrote it, as
 * {@link ProvenanceTracker} recorded them.
 */
public final class ProvenanceCommands {

    /** What {@code fsp:provenance} without an argument prints. */
    static final String HELP =
            """
            usage: fsp:provenance PATH
              Which process created the file at PATH and which last wrote it (write or truncate): pid, uid,
              command name, time. pid 0 is fspd itself. Only what happened since fs-core with provenance was
              installed is known; the records carry over to later versions with provenance, but a downgrade to
              fs-core without it (fsp:upgrade fs <plain fs-core jar>) drops them: an upgrade back starts afresh.""";

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneId.systemDefault());

    private final FileSystemService fs;
    private final ProvenanceTracker tracker;

    public ProvenanceCommands(FileSystemService fs, ProvenanceTracker tracker) {
        this.fs = fs;
        this.tracker = tracker;
    }

    /** {@code fsp:provenance}: the usage. */
    public String provenance() {
        return HELP;
    }

    /** {@code fsp:provenance PATH}: one line, who created and who last wrote the file (symbolic links followed). */
    public String provenance(String path) {
        long ino;
        try {
            ino = fs.stat(Credentials.ROOT, path).ino();
        } catch (FsException e) {
            return path + ": " + e.errno() + " (" + e.getMessage() + ")";
        }
        ProvenanceTracker.FileProvenance p = tracker.of(ino);
        if (p == null) {
            return path + ": nothing recorded (inode " + ino + " was neither created nor written since provenance"
                    + " tracking began at " + time(tracker.sinceMillis()) + ")";
        }
        String created = p.creator() == null
                ? "created before provenance tracking began (" + time(tracker.sinceMillis()) + ")"
                : "created by " + describe(p.creator()) + " at " + time(p.createdAtMillis());
        String written = p.lastWriter() == null
                ? "not written since"
                : "last written by " + describe(p.lastWriter()) + " at " + time(p.lastWrittenAtMillis());
        return path + ": " + created + "; " + written;
    }

    static String describe(ProvenanceTracker.Process p) {
        return "pid " + p.pid() + " (" + p.command() + ") uid " + p.uid();
    }

    static String time(long millis) {
        return TIME.format(Instant.ofEpochMilli(millis));
    }
}
