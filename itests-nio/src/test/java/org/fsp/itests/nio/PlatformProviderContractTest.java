package org.fsp.itests.nio;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the platform's default provider, in a kernel temporary directory: the reference. */
class PlatformProviderContractTest extends AbstractFileSystemContractTest {

    @TempDir
    Path temp;

    @Override
    protected Path newWorkDirectory() throws Exception {
        return Files.createDirectory(temp.resolve("work"));
    }
}
