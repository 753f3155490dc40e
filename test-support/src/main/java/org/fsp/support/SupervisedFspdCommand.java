package org.fsp.support;

import java.nio.file.Path;
import java.util.List;

/**
 * How the FUSE crash suites and {@code fsp bench recovery} start {@code fspd --supervise --mount DIR}: headless, on a
 * 256 MiB image created on first start, with {@code --crash-limit 0} so that the supervisor replaces every killed
 * fspd at once instead of backing off, the supervisor's standard output and error together in one file and no
 * standard input. The supervisor writes its "serving" lines into that file, and the lines that say a standby is warm
 * into {@code SOCKET.d/fspd.log}.
 *
 * <p>A typical sequence is: {@code ProcessBuilder pb = SupervisedFspdCommand.mounting(fspd, image, socket, mnt, out)},
 * add to {@code pb.environment()} what the run needs, {@code pb.start()}, wait for the first "serving" line in
 * {@code out} and for {@code mnt} in the mount table, SIGKILL the serving fspd and wait for the next "serving" line,
 * then SIGTERM the supervisor, which unmounts.
 */
public final class SupervisedFspdCommand {

    private SupervisedFspdCommand() {}

    /**
     * The supervisor of {@code fspd} (the distribution's {@code bin/fspd}) serving {@code device} on {@code socket}
     * and mounted at {@code mnt}, its output going to {@code output}; not started.
     */
    public static ProcessBuilder mounting(Path fspd, Path device, Path socket, Path mnt, Path output) {
        return new ProcessBuilder(List.of(
                        fspd.toString(),
                        "--headless",
                        "--supervise",
                        "--crash-limit",
                        "0",
                        "--device",
                        device.toString(),
                        "--size",
                        "256M",
                        "--socket",
                        socket.toString(),
                        "--mount",
                        mnt.toString()))
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    }
}
