package org.fsp.client.nio;

import java.io.IOException;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileOwnerAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.FileAttributes;

/**
 * The attribute views {@code basic}, {@code posix}, {@code owner} and {@code unix} over FSP's stat, with the names and
 * value types of the platform's Unix provider, and the string form of {@code Files.readAttributes(path, "view:a,b")}
 * and {@code Files.setAttribute}.
 */
final class Attributes {

    static final Set<String> VIEWS = Set.of("basic", "posix", "owner", "unix");
    /** Every view a file system offers: these and {@code user} ({@link UserAttributes}). */
    static final Set<String> VIEWS_WITH_USER = Set.of("basic", "posix", "owner", "unix", "user");

    private static final List<String> BASIC = List.of(
            "lastModifiedTime",
            "lastAccessTime",
            "creationTime",
            "size",
            "isRegularFile",
            "isDirectory",
            "isSymbolicLink",
            "isOther",
            "fileKey");
    private static final List<String> POSIX = List.of("permissions", "owner", "group");
    private static final List<String> UNIX = List.of("mode", "ino", "dev", "rdev", "nlink", "uid", "gid", "ctime");

    private static final PosixFilePermission[] BITS = {
        PosixFilePermission.OTHERS_EXECUTE,
        PosixFilePermission.OTHERS_WRITE,
        PosixFilePermission.OTHERS_READ,
        PosixFilePermission.GROUP_EXECUTE,
        PosixFilePermission.GROUP_WRITE,
        PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE,
        PosixFilePermission.OWNER_WRITE,
        PosixFilePermission.OWNER_READ
    };

    private Attributes() {}

    /** The key two paths of the same file share: device and inode, as the platform's UnixFileKey. */
    record FileKey(long dev, long ino) {}

    static int toMode(Set<PosixFilePermission> perms) {
        int mode = 0;
        for (int i = 0; i < BITS.length; i++) {
            if (perms.contains(BITS[i])) {
                mode |= 1 << i;
            }
        }
        return mode;
    }

    static Set<PosixFilePermission> toPermissions(int mode) {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        for (int i = 0; i < BITS.length; i++) {
            if ((mode & (1 << i)) != 0) {
                perms.add(BITS[i]);
            }
        }
        return perms;
    }

    static FileTime time(long nanos) {
        return FileTime.from(nanos, TimeUnit.NANOSECONDS);
    }

    /** stat as {@code PosixFileAttributes}. */
    record Posix(FileAttributes a, long dev, Principals principals) implements PosixFileAttributes {
        @Override
        public FileTime lastModifiedTime() {
            return time(a.mtimeNanos());
        }

        @Override
        public FileTime lastAccessTime() {
            return time(a.atimeNanos());
        }

        /** FSP keeps no birth time; the platform answers the modification time then too. */
        @Override
        public FileTime creationTime() {
            return lastModifiedTime();
        }

        @Override
        public boolean isRegularFile() {
            return a.isRegularFile();
        }

        @Override
        public boolean isDirectory() {
            return a.isDirectory();
        }

        @Override
        public boolean isSymbolicLink() {
            return a.isSymbolicLink();
        }

        @Override
        public boolean isOther() {
            return !a.isRegularFile() && !a.isDirectory() && !a.isSymbolicLink();
        }

        @Override
        public long size() {
            return a.size();
        }

        @Override
        public Object fileKey() {
            return new FileKey(dev, a.ino());
        }

        @Override
        public UserPrincipal owner() {
            return principals.user(a.uid());
        }

        @Override
        public GroupPrincipal group() {
            return principals.group(a.gid());
        }

        @Override
        public Set<PosixFilePermission> permissions() {
            return toPermissions(a.mode());
        }
    }

    /** One view object for basic, posix and owner: each reads or writes through the file operations when called. */
    static final class View implements PosixFileAttributeView {
        private final String name;
        private final FileOperations ops;
        private final String path;
        private final boolean follow;
        private final long dev;
        private final Principals principals;

        View(String name, FileOperations ops, String path, boolean follow, long dev, Principals principals) {
            this.name = name;
            this.ops = ops;
            this.path = path;
            this.follow = follow;
            this.dev = dev;
            this.principals = principals;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Posix readAttributes() throws IOException {
            return new Posix(ops.stat(path, follow), dev, principals);
        }

        @Override
        public void setTimes(FileTime lastModifiedTime, FileTime lastAccessTime, FileTime createTime)
                throws IOException {
            ops.setTimes(path, lastModifiedTime, lastAccessTime);
        }

        @Override
        public void setPermissions(Set<PosixFilePermission> perms) throws IOException {
            ops.chmod(path, toMode(perms));
        }

        @Override
        public UserPrincipal getOwner() throws IOException {
            return readAttributes().owner();
        }

        @Override
        public void setOwner(UserPrincipal owner) throws IOException {
            ops.chown(path, principals.uidOf(owner), -1);
        }

        @Override
        public void setGroup(GroupPrincipal group) throws IOException {
            ops.chown(path, -1, principals.gidOf(group));
        }
    }

    /** The view class asked for, or null if FSP does not have it. */
    static <V> V view(Class<V> type, FileOperations ops, String path, boolean follow, long dev, Principals p) {
        String name;
        if (type == BasicFileAttributeView.class) {
            name = "basic";
        } else if (type == PosixFileAttributeView.class) {
            name = "posix";
        } else if (type == FileOwnerAttributeView.class) {
            name = "owner";
        } else if (type == java.nio.file.attribute.UserDefinedFileAttributeView.class) {
            return type.cast(new UserAttributes(ops.client, path, follow));
        } else {
            return null;
        }
        return type.cast(new View(name, ops, path, follow, dev, p));
    }

    /** {@code Files.readAttributes(path, "view:a,b" or "view:*")}. */
    static Map<String, Object> read(String attributes, Posix a) {
        int colon = attributes.indexOf(':');
        String view = colon < 0 ? "basic" : attributes.substring(0, colon);
        String list = colon < 0 ? attributes : attributes.substring(colon + 1);
        if (!VIEWS.contains(view)) {
            throw new UnsupportedOperationException("View '" + view + "' not available");
        }
        List<String> allowed =
                switch (view) {
                    case "basic" -> BASIC;
                    case "owner" -> List.of("owner");
                    case "posix" -> concat(BASIC, POSIX);
                    default -> concat(concat(BASIC, POSIX), UNIX);
                };
        Map<String, Object> out = new HashMap<>();
        for (String n : list.split(",")) {
            if (n.equals("*")) {
                for (String all : allowed) {
                    out.put(all, value(all, a));
                }
            } else if (allowed.contains(n)) {
                out.put(n, value(n, a));
            } else {
                throw new IllegalArgumentException("'" + n + "' not recognized");
            }
        }
        return out;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }

    private static Object value(String name, Posix p) {
        FileAttributes a = p.a();
        return switch (name) {
            case "lastModifiedTime" -> p.lastModifiedTime();
            case "lastAccessTime" -> p.lastAccessTime();
            case "creationTime" -> p.creationTime();
            case "size" -> p.size();
            case "isRegularFile" -> p.isRegularFile();
            case "isDirectory" -> p.isDirectory();
            case "isSymbolicLink" -> p.isSymbolicLink();
            case "isOther" -> p.isOther();
            case "fileKey" -> p.fileKey();
            case "permissions" -> p.permissions();
            case "owner" -> p.owner();
            case "group" -> p.group();
            case "mode" -> a.mode();
            case "ino" -> a.ino();
            case "dev" -> p.dev();
            case "rdev" -> 0L;
            case "nlink" -> a.nlink();
            case "uid" -> a.uid();
            case "gid" -> a.gid();
            case "ctime" -> time(a.ctimeNanos());
            default -> throw new IllegalArgumentException("'" + name + "' not recognized");
        };
    }

    /** {@code Files.setAttribute(path, "view:name", value)}. */
    @SuppressWarnings("unchecked")
    static void set(
            FileOperations ops, Principals principals, String path, boolean follow, String attribute, Object value)
            throws IOException {
        int colon = attribute.indexOf(':');
        String view = colon < 0 ? "basic" : attribute.substring(0, colon);
        String name = colon < 0 ? attribute : attribute.substring(colon + 1);
        if (!VIEWS.contains(view)) {
            throw new UnsupportedOperationException("View '" + view + "' not available");
        }
        if (!follow) {
            throw new UnsupportedOperationException("setting attributes of a symbolic link itself");
        }
        switch (name) {
            case "lastModifiedTime" -> ops.setTimes(path, (FileTime) value, null);
            case "lastAccessTime" -> ops.setTimes(path, null, (FileTime) value);
            case "creationTime" -> {
                // Linux cannot set a birth time; the platform ignores it too.
            }
            case "permissions" -> {
                if (view.equals("basic") || view.equals("owner")) {
                    throw new IllegalArgumentException("'" + attribute + "' not recognized");
                }
                ops.chmod(path, toMode((Set<PosixFilePermission>) value));
            }
            case "owner" -> ops.chown(path, principals.uidOf((UserPrincipal) value), -1);
            case "group" -> ops.chown(path, -1, principals.gidOf((GroupPrincipal) value));
            case "mode" -> unixOnly(view, attribute, () -> ops.chmod(path, ((Integer) value) & 07777));
            case "uid" -> unixOnly(view, attribute, () -> ops.chown(path, (Integer) value, -1));
            case "gid" -> unixOnly(view, attribute, () -> ops.chown(path, -1, (Integer) value));
            default -> throw new IllegalArgumentException("'" + attribute + "' not recognized");
        }
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private static void unixOnly(String view, String attribute, IoAction action) throws IOException {
        if (!view.equals("unix")) {
            throw new IllegalArgumentException("'" + attribute + "' not recognized");
        }
        action.run();
    }
}
