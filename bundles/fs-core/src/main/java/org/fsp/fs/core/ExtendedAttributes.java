package org.fsp.fs.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.alloc.Allocator;
import org.fsp.fs.core.alloc.CorruptMetadataException;
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.inode.InodeTable;
import org.fsp.fs.core.inode.NoSpaceException;
import org.fsp.fs.core.journal.Transaction;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.XattrBlockDescriptor;

/**
 * Extended attributes of inodes: each inode's set lives in one block of its own ({@link XattrBlockDescriptor}),
 * allocated with the first attribute, rewritten whole on each change inside the caller's transaction (so a change is
 * as atomic and durable as any other metadata change) and freed with the last attribute or with the inode.
 *
 * <p>Namespaces and permissions are Linux's ({@code fs/xattr.c} xattr_permission, commoncap's cap_inode_setxattr):
 * user.* on regular files and directories with the caller's read or write permission (on other types a read finds
 * nothing and a write is EPERM; a sticky directory takes user.* writes from its owner and root only); trusted.* for
 * root alone (others read nothing, write EPERM, and do not see the names listed); security.* read by anyone, written
 * by root. Other namespaces (system.* ACLs among them) are EOPNOTSUPP.
 *
 * <p>A typical sequence is: FsCore resolves the path, then {@code get(who, inode, name)} (under the inode's lock) or,
 * inside a transaction, {@code set(tx, who, inode, name, value, flags)}; {@link #release} when the inode is freed.
 */
final class ExtendedAttributes {

    private static final String USER = "user.";
    private static final String TRUSTED = "trusted.";
    private static final String SECURITY = "security.";

    private final BufferCache cache;
    private final Allocator alloc;
    private final InodeTable table;
    private final Geometry geometry;
    private final LongSupplier clock;
    /** Blocks only root may allocate (the root reserve). */
    private final long reservedBlocks;

    ExtendedAttributes(
            BufferCache cache,
            Allocator alloc,
            InodeTable table,
            Geometry geometry,
            LongSupplier clock,
            long reservedBlocks) {
        this.cache = cache;
        this.alloc = alloc;
        this.table = table;
        this.geometry = geometry;
        this.clock = clock;
        this.reservedBlocks = reservedBlocks;
    }

    private enum Namespace {
        USER,
        TRUSTED,
        SECURITY
    }

    /** The namespace of a checked name: ERANGE for an empty or too long name, EINVAL for a bare prefix. */
    private static Namespace namespace(String name) throws FsException {
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > FileSystemService.XATTR_NAME_MAX) {
            throw new FsException(Errno.ERANGE, "extended attribute name of " + bytes + " bytes");
        }
        if (name.indexOf('\0') >= 0) {
            throw new FsException(Errno.EINVAL, "NUL in extended attribute name");
        }
        Namespace ns;
        String prefix;
        if (name.startsWith(USER)) {
            ns = Namespace.USER;
            prefix = USER;
        } else if (name.startsWith(TRUSTED)) {
            ns = Namespace.TRUSTED;
            prefix = TRUSTED;
        } else if (name.startsWith(SECURITY)) {
            ns = Namespace.SECURITY;
            prefix = SECURITY;
        } else {
            throw new FsException(Errno.EOPNOTSUPP, "extended attribute namespace of " + name);
        }
        if (name.length() == prefix.length()) {
            throw new FsException(Errno.EINVAL, "extended attribute name " + name + " without a name after it");
        }
        return ns;
    }

    /** xattr_permission for a read ({@code write} false) or a write of {@code name} on {@code i}. */
    private static void permit(Credentials who, Inode i, Namespace ns, boolean write, String subject)
            throws FsException {
        switch (ns) {
            case TRUSTED -> {
                if (!who.isRoot()) {
                    throw write ? new FsException(Errno.EPERM, subject) : new FsException(Errno.ENODATA, subject);
                }
            }
            case SECURITY -> {
                if (write && !who.isRoot()) {
                    throw new FsException(Errno.EPERM, subject);
                }
            }
            case USER -> {
                int type = i.mode & FileMode.S_IFMT;
                if (type != FileMode.S_IFREG && type != FileMode.S_IFDIR) {
                    throw write ? new FsException(Errno.EPERM, subject) : new FsException(Errno.ENODATA, subject);
                }
                if (write
                        && type == FileMode.S_IFDIR
                        && (i.mode & FileMode.S_ISVTX) != 0
                        && !Access.isOwnerOrRoot(who, i)) {
                    throw new FsException(Errno.EPERM, subject);
                }
                Access.check(who, i, write ? Access.WRITE : Access.READ, subject);
            }
        }
    }

    /** The value of {@code name}; ENODATA if absent. Takes the inode's lock. */
    byte[] get(Credentials who, Inode i, String name, String subject) throws IOException {
        Namespace ns = namespace(name);
        permit(who, i, ns, false, subject);
        i.lock.lock();
        try {
            byte[] v = load(i).get(name);
            if (v == null) {
                throw new FsException(Errno.ENODATA, subject + ": " + name);
            }
            return v;
        } finally {
            i.lock.unlock();
        }
    }

    /** The names the caller may see. Takes the inode's lock. */
    List<String> list(Credentials who, Inode i) throws IOException {
        i.lock.lock();
        try {
            List<String> names = new ArrayList<>();
            for (String n : load(i).keySet()) {
                if (!n.startsWith(TRUSTED) || who.isRoot()) {
                    names.add(n);
                }
            }
            return names;
        } finally {
            i.lock.unlock();
        }
    }

    /**
     * Sets ({@code value} non-null) or removes ({@code value} null) {@code name} inside {@code tx}; the caller holds
     * the inode's lock and has checked it is live.
     */
    void change(Transaction tx, Credentials who, Inode i, String name, byte[] value, int flags, String subject)
            throws IOException {
        Namespace ns = namespace(name);
        if ((flags & ~(FileSystemService.XATTR_CREATE | FileSystemService.XATTR_REPLACE)) != 0) {
            throw new FsException(Errno.EINVAL, "setxattr flags " + flags);
        }
        if (value != null && value.length > FileSystemService.XATTR_SIZE_MAX) {
            throw new FsException(Errno.E2BIG, "extended attribute value of " + value.length + " bytes");
        }
        permit(who, i, ns, true, subject);
        Map<String, byte[]> all = load(i);
        boolean exists = all.containsKey(name);
        if (value == null || (flags & FileSystemService.XATTR_REPLACE) != 0) {
            if (!exists) {
                throw new FsException(Errno.ENODATA, subject + ": " + name);
            }
        }
        if (value != null && (flags & FileSystemService.XATTR_CREATE) != 0 && exists) {
            throw new FsException(Errno.EEXIST, subject + ": " + name);
        }
        if (value == null) {
            all.remove(name);
        } else {
            all.put(name, value.clone());
        }
        if (all.isEmpty()) {
            release(tx, i);
        } else {
            if (XattrBlockDescriptor.bytesFor(all) > XattrBlockDescriptor.CAPACITY) {
                // As ext4 without large-value inodes: the file's attributes must fit its one block.
                throw new FsException(Errno.ENOSPC, subject + ": extended attributes do not fit one block");
            }
            if (i.xattrBlock == 0) {
                allocate(tx, who, i);
            }
            Buffer b = cache.get(i.xattrBlock, false);
            try {
                XattrBlockDescriptor.write(b.data(), i.ino, all);
                tx.dirty(b);
            } finally {
                cache.release(b);
            }
        }
        i.ctime = clock.getAsLong();
        table.store(tx, i, false);
    }

    private void allocate(Transaction tx, Credentials who, Inode i) throws IOException {
        if (!who.isRoot() && alloc.freeBlocks() + alloc.pendingFreeBlocks() - reservedBlocks <= 0) {
            throw new NoSpaceException();
        }
        long goal = i.extents.count() > 0 ? i.extents.physical(0) : 0;
        long[] run = alloc.allocBlocks(tx, goal, 1);
        if (run == null) {
            throw new NoSpaceException();
        }
        i.xattrBlock = run[0];
        i.blocks++;
    }

    /**
     * Frees the inode's attribute block, if it has one; the caller holds the inode's lock inside {@code tx} and stores
     * the inode (or frees it) afterwards.
     */
    void release(Transaction tx, Inode i) throws IOException {
        long b = i.xattrBlock;
        if (b == 0) {
            return;
        }
        cache.forget(b);
        alloc.freeBlocks(tx, b, 1);
        i.xattrBlock = 0;
        i.blocks--;
    }

    /** The inode's attributes, by name (a new map). Caller holds the lock. */
    private Map<String, byte[]> load(Inode i) throws IOException {
        long block = i.xattrBlock;
        if (block == 0) {
            return new TreeMap<>();
        }
        if (block < geometry.dataStart() || block >= geometry.totalBlocks()) {
            throw new CorruptMetadataException("inode " + i.ino + " points at attribute block " + block);
        }
        Buffer b = cache.get(block, true);
        try {
            String problem = XattrBlockDescriptor.validate(b.data(), i.ino);
            if (problem != null) {
                throw new CorruptMetadataException("inode " + i.ino + " attribute block " + block + ": " + problem);
            }
            return new TreeMap<>(XattrBlockDescriptor.read(b.data()));
        } finally {
            cache.release(b);
        }
    }
}
