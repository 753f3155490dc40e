package org.fsp.ipc.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The mounts this process sees, from {@code /proc/self/mountinfo}: mount point and file-system type of each. */
final class MountTable {

    /** One line of mountinfo. */
    record Mount(Path mountPoint, String type) {}

    private MountTable() {}

    static List<Mount> read(Path mountinfo) throws IOException {
        List<Mount> mounts = new ArrayList<>();
        for (String line : Files.readAllLines(mountinfo)) {
            Mount m = parse(line);
            if (m != null) {
                mounts.add(m);
            }
        }
        return mounts;
    }

    /**
     * Parses one mountinfo line: the fifth field is the mount point (octal escapes for space, tab, newline and
     * backslash), and the field after the " - " separator is the type. Null for a line that is not of that form.
     */
    static Mount parse(String line) {
        String[] f = line.split(" ");
        if (f.length < 7) {
            return null;
        }
        int sep = -1;
        for (int i = 6; i < f.length; i++) {
            if (f[i].equals("-")) {
                sep = i;
                break;
            }
        }
        if (sep < 0 || sep + 1 >= f.length) {
            return null;
        }
        return new Mount(Path.of(unescape(f[4])), f[sep + 1]);
    }

    static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
