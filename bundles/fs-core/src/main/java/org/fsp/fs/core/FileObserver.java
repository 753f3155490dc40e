package org.fsp.fs.core;

import org.fsp.api.fs.Credentials;

/**
 * Told by {@link FsCore} who creates, changes and frees each inode, for features that keep per-file history (such as
 * provenance tracking in fs-core's second version). The plain file system passes {@link #NONE}.
 *
 * <p>Calls are made on the operations' own threads inside their transactions, with the inode's lock held (for
 * {@link #created}, its directory's), after the change is made, so an implementation must be quick, must not block
 * and must not call back into the file system: {@link #written} runs on every write (once per 1 MiB chunk of it).
 */
public interface FileObserver {

    /** Observes nothing. */
    FileObserver NONE = new FileObserver() {
        @Override
        public void created(Credentials who, long ino) {}

        @Override
        public void written(Credentials who, long ino) {}

        @Override
        public void freed(long ino) {}
    };

    /** {@code who} created inode {@code ino} (a file, directory or symbolic link) and linked it into a directory. */
    void created(Credentials who, long ino);

    /** {@code who} changed the data of inode {@code ino}: a write, or a truncate (also by O_TRUNC). */
    void written(Credentials who, long ino);

    /** Inode {@code ino} was freed: its number may be given to a new file from now on. */
    void freed(long ino);
}
