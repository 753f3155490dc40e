package org.fsp.client.nio;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.FileSystems;
import java.util.Arrays;
import java.util.jar.JarFile;

/**
 * What {@code bin/fsp-java -jar app.jar} runs: {@code java -jar} ignores the class path FS Lib needs to be on, so the
 * launcher puts the jar on the class path instead and this class starts the jar's {@code Main-Class} (its manifest
 * {@code Class-Path} is honoured by the class path as usual). Refuses to start if FSP is not the default provider.
 */
public final class FspJava {

    private FspJava() {}

    public static void main(String[] args) throws Throwable {
        if (args.length == 0) {
            System.err.println("usage: FspJava app.jar [args]");
            System.exit(2);
        }
        if (!(FileSystems.getDefault().provider() instanceof FspDefaultFileSystemProvider)) {
            System.err.println("FSP is not the default file system provider: start with"
                    + " -Djava.nio.file.spi.DefaultFileSystemProvider=" + FspDefaultFileSystemProvider.class.getName());
            System.exit(2);
        }
        String mainClass;
        try (JarFile jar = new JarFile(args[0])) {
            mainClass = jar.getManifest() == null
                    ? null
                    : jar.getManifest().getMainAttributes().getValue("Main-Class");
        } catch (IOException e) {
            System.err.println("cannot read " + args[0] + ": " + e.getMessage());
            System.exit(2);
            return;
        }
        if (mainClass == null) {
            System.err.println("no Main-Class in the manifest of " + args[0]);
            System.exit(2);
        }
        Class<?> c = Class.forName(mainClass, true, ClassLoader.getSystemClassLoader());
        MethodHandle main =
                MethodHandles.publicLookup().findStatic(c, "main", MethodType.methodType(void.class, String[].class));
        main.invoke((String[]) Arrays.copyOfRange(args, 1, args.length));
    }
}
