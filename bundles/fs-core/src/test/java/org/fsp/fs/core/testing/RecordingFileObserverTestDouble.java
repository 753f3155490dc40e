package org.fsp.fs.core.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.fsp.api.fs.Credentials;
import org.fsp.fs.core.FileObserver;

/** Test double: records every observer call as a line such as {@code "created 42 17"} (pid, inode). */
public final class RecordingFileObserverTestDouble implements FileObserver {

    private final List<String> calls = new CopyOnWriteArrayList<>();

    @Override
    public void created(Credentials who, long ino) {
        calls.add("created " + who.pid() + " " + ino);
    }

    @Override
    public void written(Credentials who, long ino) {
        calls.add("written " + who.pid() + " " + ino);
    }

    @Override
    public void freed(long ino) {
        calls.add("freed " + ino);
    }

    /** The calls so far, and forgets them. */
    public List<String> take() {
        List<String> taken = List.copyOf(calls);
        calls.clear();
        return taken;
    }
}
