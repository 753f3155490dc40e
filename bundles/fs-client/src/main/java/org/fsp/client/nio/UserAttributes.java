package org.fsp.client.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.fsp.client.FspClient;

/**
 * The {@code user} view: extended attributes in the "user." namespace, kept by fs-core, with the names (prefix
 * stripped) and failures of the platform's Linux view ({@code LinuxUserDefinedFileAttributeView}): a buffer too small
 * for a value is "Insufficient space in buffer", an absent attribute the file system's ENODATA. Also the string form,
 * {@code Files.getAttribute(path, "user:name")} (a {@code byte[]}) and {@code Files.setAttribute(path, "user:name",
 * byte[] or ByteBuffer)}.
 */
final class UserAttributes implements UserDefinedFileAttributeView {

    private static final String PREFIX = "user.";
    /** How the string forms name this view's attributes: "user:name". */
    static final String VIEW_PREFIX = "user:";

    private final FspClient client;
    private final String path;
    private final boolean follow;

    UserAttributes(FspClient client, String path, boolean follow) {
        this.client = client;
        this.path = path;
        this.follow = follow;
    }

    @Override
    public String name() {
        return "user";
    }

    private static String full(String name) {
        if (name == null) {
            throw new NullPointerException("name");
        }
        return PREFIX + name;
    }

    @Override
    public List<String> list() throws IOException {
        List<String> names = new ArrayList<>();
        for (String n : client.listxattr(path, follow)) {
            if (n.startsWith(PREFIX)) {
                names.add(n.substring(PREFIX.length()));
            }
        }
        return names;
    }

    @Override
    public int size(String name) throws IOException {
        return client.getxattr(path, full(name), follow).length;
    }

    @Override
    public int read(String name, ByteBuffer dst) throws IOException {
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("Read-only buffer");
        }
        byte[] value = client.getxattr(path, full(name), follow);
        if (value.length > dst.remaining()) {
            throw new FileSystemException(
                    path, null, "Error reading extended attribute '" + name + "': Insufficient space in buffer");
        }
        dst.put(value);
        return value.length;
    }

    @Override
    public int write(String name, ByteBuffer src) throws IOException {
        byte[] value = new byte[src.remaining()];
        src.duplicate().get(value);
        client.setxattr(path, full(name), value, 0, follow);
        src.position(src.position() + value.length);
        return value.length;
    }

    @Override
    public void delete(String name) throws IOException {
        client.removexattr(path, full(name), follow);
    }

    /** {@code Files.readAttributes(path, "user:a,b")}: each value as a {@code byte[]}; "*" reads them all. */
    Map<String, Object> read(String list) throws IOException {
        Map<String, Object> out = new java.util.HashMap<>();
        for (String n : list.split(",")) {
            if (n.equals("*")) {
                for (String each : list()) {
                    out.put(each, client.getxattr(path, full(each), follow));
                }
            } else {
                out.put(n, client.getxattr(path, full(n), follow));
            }
        }
        return out;
    }

    /** {@code Files.setAttribute(path, "user:name", value)} with a {@code byte[]} or a {@code ByteBuffer}. */
    void set(String name, Object value) throws IOException {
        if (value instanceof byte[] bytes) {
            write(name, ByteBuffer.wrap(bytes));
        } else if (value instanceof ByteBuffer buffer) {
            write(name, buffer);
        } else {
            throw new ClassCastException("user:" + name + " takes a byte[] or a ByteBuffer, not " + value);
        }
    }
}
