package org.fsp.client.nio;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A path of an {@link FspFileSystem}: a root or not, and a list of names, with the syntax and the lexical operations
 * of a Unix path ({@code sun.nio.fs.UnixPath} is the reference: "" is one empty name, "/" has no names, repeated and
 * trailing slashes are dropped). The working directory is FSP's root, so {@link #toAbsolutePath} prepends "/".
 */
final class FspPath implements Path {

    private final FspFileSystem fs;
    private final boolean absolute;
    /** Never empty names except the single one of the empty path. */
    private final List<String> names;

    private String string;

    private FspPath(FspFileSystem fs, boolean absolute, List<String> names) {
        this.fs = fs;
        this.absolute = absolute;
        this.names = names;
    }

    /** Parses {@code first} and {@code more} joined by "/". */
    static FspPath parse(FspFileSystem fs, String first, String... more) {
        StringBuilder sb = new StringBuilder(first);
        for (String m : more) {
            if (!m.isEmpty()) {
                if (!sb.isEmpty()) {
                    sb.append('/');
                }
                sb.append(m);
            }
        }
        String s = sb.toString();
        int nul = s.indexOf('\0');
        if (nul >= 0) {
            throw new InvalidPathException(s, "Nul character not allowed", nul);
        }
        boolean abs = s.startsWith("/");
        List<String> names = new ArrayList<>();
        for (String n : s.split("/")) {
            if (!n.isEmpty()) {
                names.add(n);
            }
        }
        if (!abs && names.isEmpty()) {
            names.add("");
        }
        return new FspPath(fs, abs, List.copyOf(names));
    }

    private FspPath with(boolean abs, List<String> newNames) {
        return new FspPath(fs, abs, List.copyOf(newNames));
    }

    private boolean isEmptyPath() {
        return !absolute && names.size() == 1 && names.getFirst().isEmpty();
    }

    /** The absolute path string FSP is asked with. */
    String fspPath() {
        return absolute ? toString() : toAbsolutePath().toString();
    }

    static FspPath check(Path p) {
        Objects.requireNonNull(p, "path");
        if (p instanceof FspPath f) {
            return f;
        }
        throw new ProviderMismatchException("not a path of an FSP file system: " + p + " (" + p.getClass() + ")");
    }

    @Override
    public FspFileSystem getFileSystem() {
        return fs;
    }

    @Override
    public boolean isAbsolute() {
        return absolute;
    }

    @Override
    public FspPath getRoot() {
        return absolute ? with(true, List.of()) : null;
    }

    @Override
    public FspPath getFileName() {
        if (names.isEmpty()) {
            return null;
        }
        if (names.size() == 1 && !absolute) {
            return this;
        }
        return with(false, List.of(names.getLast()));
    }

    @Override
    public FspPath getParent() {
        if (names.isEmpty() || (names.size() == 1 && !absolute)) {
            return null;
        }
        return with(absolute, names.subList(0, names.size() - 1));
    }

    @Override
    public int getNameCount() {
        return names.size();
    }

    @Override
    public FspPath getName(int index) {
        if (index < 0 || index >= names.size()) {
            throw new IllegalArgumentException("name index " + index + " of " + names.size());
        }
        return with(false, List.of(names.get(index)));
    }

    @Override
    public FspPath subpath(int beginIndex, int endIndex) {
        if (beginIndex < 0 || endIndex > names.size() || beginIndex >= endIndex) {
            throw new IllegalArgumentException("subpath " + beginIndex + ".." + endIndex + " of " + names.size());
        }
        return with(false, names.subList(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        if (!(Objects.requireNonNull(other) instanceof FspPath o) || o.fs != fs) {
            return false;
        }
        if (o.absolute != absolute || o.names.size() > names.size()) {
            return false;
        }
        if (o.isEmptyPath()) {
            return isEmptyPath();
        }
        return names.subList(0, o.names.size()).equals(o.names);
    }

    @Override
    public boolean endsWith(Path other) {
        if (!(Objects.requireNonNull(other) instanceof FspPath o) || o.fs != fs) {
            return false;
        }
        if (o.absolute) {
            return equals(o);
        }
        if (o.isEmptyPath()) {
            return isEmptyPath();
        }
        int n = o.names.size();
        return n <= names.size()
                && names.subList(names.size() - n, names.size()).equals(o.names);
    }

    @Override
    public FspPath normalize() {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            if (n.equals(".") || n.isEmpty()) {
                continue;
            }
            if (n.equals("..")) {
                if (!out.isEmpty() && !out.getLast().equals("..")) {
                    out.removeLast();
                    continue;
                }
                if (absolute) {
                    continue;
                }
            }
            out.add(n);
        }
        if (!absolute && out.isEmpty()) {
            out.add("");
        }
        return out.equals(names) ? this : with(absolute, out);
    }

    @Override
    public FspPath resolve(Path other) {
        FspPath o = check(other);
        if (o.absolute) {
            return o;
        }
        if (o.isEmptyPath()) {
            return this;
        }
        if (isEmptyPath()) {
            return o;
        }
        List<String> joined = new ArrayList<>(names);
        joined.addAll(o.names);
        return with(absolute, joined);
    }

    @Override
    public FspPath relativize(Path other) {
        FspPath o = check(other);
        if (o.absolute != absolute) {
            throw new IllegalArgumentException("'other' is different type of Path");
        }
        if (equals(o)) {
            return with(false, List.of(""));
        }
        if (isEmptyPath()) {
            return o;
        }
        List<String> from = names;
        List<String> to = o.isEmptyPath() ? List.of() : o.names;
        int common = 0;
        while (common < from.size() && common < to.size() && from.get(common).equals(to.get(common))) {
            common++;
        }
        List<String> out = new ArrayList<>();
        for (int i = common; i < from.size(); i++) {
            out.add("..");
        }
        out.addAll(to.subList(common, to.size()));
        if (out.isEmpty()) {
            out.add("");
        }
        return with(false, out);
    }

    @Override
    public URI toUri() {
        try {
            return new URI(FspFileSystemProvider.SCHEME, null, fspPath(), fs.uriQuery(), null);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public FspPath toAbsolutePath() {
        if (absolute) {
            return this;
        }
        return isEmptyPath() ? with(true, List.of()) : with(true, names);
    }

    @Override
    public FspPath toRealPath(LinkOption... options) throws IOException {
        return parse(fs, fs.ops().realPath(fspPath(), FileOperations.followLinks(options)));
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers)
            throws IOException {
        Objects.requireNonNull(watcher);
        if (!(watcher instanceof FspWatchService w) || w.fs != fs) {
            throw new ProviderMismatchException("not a WatchService of this FSP file system: " + watcher);
        }
        return w.register(this, events, modifiers);
    }

    @Override
    public int compareTo(Path other) {
        return toString().compareTo(check(other).toString());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FspPath p && p.fs == fs && p.toString().equals(toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        String s = string;
        if (s == null) {
            s = (absolute ? "/" : "") + String.join("/", names);
            string = s;
        }
        return s;
    }
}
