package org.fsp.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may use the admin shell, decided on uids with the JDK's own principals: a principal named by its number (as
 * SO_PEERCRED reports a uid with no passwd entry) is the same user as the one named by the passwd database.
 */
class AdminShellServerTest {

    private static final UserPrincipalLookupService USERS =
            FileSystems.getDefault().getUserPrincipalLookupService();

    @TempDir
    Path dir;

    @Test
    void shouldLetTheSocketsOwnerInWhateverItsNameReads() throws Exception {
        Path socketFile = Files.createFile(dir.resolve("admin"));
        UserPrincipal owner = Files.getOwner(socketFile);
        int uid = (Integer) Files.getAttribute(socketFile, "unix:uid");
        UserPrincipal byNumber = USERS.lookupPrincipalByName(Integer.toString(uid));
        // The same uid under another name: the old name comparison refused this peer.
        assertTrue(AdminShellServer.mayUse(byNumber, owner, null), byNumber + " vs " + owner);
    }

    @Test
    void shouldLetRootInByUidEvenWhenItsNameIsNotRoot() throws Exception {
        UserPrincipal owner = USERS.lookupPrincipalByName("4242");
        UserPrincipal rootByNumber = USERS.lookupPrincipalByName("0");
        UserPrincipal root = AdminShellServer.rootPrincipal();
        assertEquals("0", rootByNumber.getName());
        assertTrue(AdminShellServer.mayUse(rootByNumber, owner, root));
    }

    @Test
    void shouldRefuseAnotherUidWhateverItIsCalled() throws Exception {
        UserPrincipal owner = USERS.lookupPrincipalByName("4242");
        UserPrincipal other = USERS.lookupPrincipalByName("4243");
        assertNotEquals(owner, other);
        assertFalse(AdminShellServer.mayUse(other, owner, AdminShellServer.rootPrincipal()));
        assertFalse(AdminShellServer.mayUse(other, owner, null));
    }
}
