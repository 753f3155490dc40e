package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import org.fsp.api.fs.Credentials;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;

class FsCoreComponentTest {

    private static FsCoreComponent.Config config(boolean formatIfBlank) {
        return new FsCoreComponent.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return FsCoreComponent.Config.class;
            }

            @Override
            public int cacheSizeMiB() {
                return 4;
            }

            @Override
            public long journalBlocks() {
                return 128;
            }

            @Override
            public boolean formatIfBlank() {
                return formatIfBlank;
            }

            @Override
            public int readAheadBlocks() {
                return 8;
            }

            @Override
            public long flushIntervalMillis() {
                return 0;
            }

            @Override
            public String journalShadowDir() {
                return "";
            }

            @Override
            public long schedulerWaitMillis() {
                return 1000;
            }

            @Override
            public int reservedPercent() {
                return 5;
            }

            @Override
            public boolean protectedSymlinks() {
                return true;
            }

            @Override
            public boolean protectedHardlinks() {
                return true;
            }

            @Override
            public int protectedRegular() {
                return 1;
            }
        };
    }

    @Test
    void shouldFormatABlankDeviceThenMountIt() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(2048);
        FsCore fs = FsCoreComponent.open(new DirectBlockScheduler(d), config(true));
        fs.mkdir(Credentials.ROOT, "/made", 0755);
        Map<String, Object> status = fs.status();
        assertEquals(128L, status.get("journal.blocks"));
        assertTrue(status.containsKey("cache.hitRate") && status.containsKey("inodes.free"), status.toString());
        FsCommands commands = new FsCommands(fs, new DirectBlockScheduler(d));
        String report = commands.fsck();
        assertTrue(report.contains("clean") && report.contains("exit code 0"), report);
        assertTrue(commands.fsck("-n").contains("exit code 0"));
        String repair = commands.fsck("--repair");
        assertTrue(
                repair.contains("does not repair a mounted file system") && repair.contains("fsck --repair"), repair);
        assertTrue(commands.df().contains("inodes"), commands.df());
        fs.unmount();
        FsCore again = FsCoreComponent.open(new DirectBlockScheduler(d), config(true));
        assertTrue(again.stat(Credentials.ROOT, "/made").isDirectory());
        again.unmount();
    }

    @Test
    void shouldRefuseABlankDeviceWhenNotAllowedToFormat() {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(2048);
        IOException e =
                assertThrows(IOException.class, () -> FsCoreComponent.open(new DirectBlockScheduler(d), config(false)));
        assertTrue(e.getMessage().contains("blank"), e.getMessage());
    }

    @Test
    void shouldRefuseACorruptDeviceWithoutWritingToIt() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(2048);
        TestFs.format(d);
        d.storage().set(ValueLayout.JAVA_BYTE, 40, (byte) 0x77);
        byte[] before = d.storage().toArray(ValueLayout.JAVA_BYTE);
        IOException e =
                assertThrows(IOException.class, () -> FsCoreComponent.open(new DirectBlockScheduler(d), config(true)));
        assertTrue(e.getMessage().contains("superblock"), e.getMessage());
        assertArrayEquals(before, d.storage().toArray(ValueLayout.JAVA_BYTE));
    }
}
