package org.fsp.client.nio;

import java.io.BufferedReader;
import java.io.FileReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.HashMap;
import java.util.Map;

/**
 * Users and groups by id and name, as the platform provider shows them: the name from /etc/passwd and /etc/group
 * (read with java.io, so that the default-provider mode cannot recurse into itself), the number as a string when the
 * id has no name. FSP stores ids only; names are this machine's.
 */
final class Principals extends UserPrincipalLookupService {

    /** A user or a group: equal when kind and id are. */
    record Principal(int id, String name, boolean isGroup) implements GroupPrincipal {
        @Override
        public String getName() {
            return name;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private final Map<Integer, String> users = new HashMap<>();
    private final Map<Integer, String> groups = new HashMap<>();
    private final Map<String, Integer> userIds = new HashMap<>();
    private final Map<String, Integer> groupIds = new HashMap<>();

    Principals() {
        read("/etc/passwd", users, userIds);
        read("/etc/group", groups, groupIds);
    }

    private static void read(String file, Map<Integer, String> byId, Map<String, Integer> byName) {
        try (BufferedReader r = new BufferedReader(new FileReader(file, StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                String[] f = line.split(":", -1);
                if (f.length >= 3 && !f[0].isEmpty()) {
                    try {
                        int id = Integer.parseInt(f[2]);
                        byId.putIfAbsent(id, f[0]);
                        byName.putIfAbsent(f[0], id);
                    } catch (NumberFormatException ignored) {
                        // a malformed line names nobody
                    }
                }
            }
        } catch (IOException e) {
            // Without the file, ids show as numbers, as they do for ids the file does not name.
        }
    }

    UserPrincipal user(int uid) {
        return new Principal(uid, users.getOrDefault(uid, Integer.toString(uid)), false);
    }

    GroupPrincipal group(int gid) {
        return new Principal(gid, groups.getOrDefault(gid, Integer.toString(gid)), true);
    }

    /**
     * The uid of a principal of this lookup service, or of any other (the platform's, in default-provider mode) by
     * its name: a user name of this machine, or a number.
     */
    int uidOf(UserPrincipal p) throws IOException {
        if (p instanceof Principal q && !q.isGroup()) {
            return q.id;
        }
        return ((Principal) lookupPrincipalByName(p.getName())).id;
    }

    /** The gid of a group principal, as {@link #uidOf}. */
    int gidOf(GroupPrincipal p) throws IOException {
        if (p instanceof Principal q && q.isGroup()) {
            return q.id;
        }
        return ((Principal) lookupPrincipalByGroupName(p.getName())).id;
    }

    @Override
    public UserPrincipal lookupPrincipalByName(String name) throws IOException {
        Integer id = userIds.get(name);
        if (id == null) {
            id = numeric(name);
        }
        return new Principal(id, users.getOrDefault(id, name), false);
    }

    @Override
    public GroupPrincipal lookupPrincipalByGroupName(String group) throws IOException {
        Integer id = groupIds.get(group);
        if (id == null) {
            id = numeric(group);
        }
        return new Principal(id, groups.getOrDefault(id, group), true);
    }

    private static int numeric(String name) throws UserPrincipalNotFoundException {
        try {
            int id = Integer.parseInt(name);
            if (id >= 0) {
                return id;
            }
        } catch (NumberFormatException ignored) {
            // not a number either
        }
        throw new UserPrincipalNotFoundException(name);
    }
}
