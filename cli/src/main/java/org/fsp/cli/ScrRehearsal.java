package org.fsp.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.fsp.cli.scrwarmup.WarmUpConsumer;
import org.fsp.cli.scrwarmup.WarmUpProvider;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.startlevel.BundleStartLevel;

/**
 * The standby's rehearsal of the OSGi component runtime (SCR): installs a bundle made in memory with two throwaway
 * components shaped like the layers' (see {@link WarmUpConsumer}), starts it, waits until SCR has activated both and
 * registered their services, and uninstalls it.
 *
 * <p>Why: the standby has SCR started but has never had it activate a component, so the take-over's first layer
 * (block-nvme) paid for SCR's activation code running for the first time in the JVM: its classes loaded, the
 * configuration looked up, a proxy built for the component property type, references tracked and bound. The
 * rehearsal makes those first runs before the crash, on components nobody uses.
 */
final class ScrRehearsal {

    static final String SYMBOLIC_NAME = "org.fsp.standby.scr-rehearsal";
    private static final String FILTER = "(" + SYMBOLIC_NAME + "=true)";
    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private ScrRehearsal() {}

    /** Runs it; returns whether SCR activated the components within the time allowed. */
    static boolean run(BundleContext framework) throws IOException, BundleException {
        Bundle b = framework.installBundle("memory:" + SYMBOLIC_NAME, new ByteArrayInputStream(bundle()));
        try {
            // Its own start level at once, whatever the launcher gives new bundles; not recorded as started.
            b.adapt(BundleStartLevel.class).setStartLevel(1);
            b.start(Bundle.START_TRANSIENT);
            long deadline = System.nanoTime() + TIMEOUT_NANOS;
            while (System.nanoTime() < deadline) {
                if (framework.getServiceReferences(BooleanSupplier.class, FILTER).stream()
                        .anyMatch(r -> r.getBundle() == b)) {
                    return true;
                }
                Thread.sleep(1);
            }
            return false;
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            b.uninstall();
        }
    }

    /** The bundle's jar: manifest, component descriptions and the two classes (with the property type). */
    private static byte[] bundle() throws IOException {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", SYMBOLIC_NAME);
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue("Service-Component", "OSGI-INF/provider.xml,OSGI-INF/consumer.xml");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(out, m)) {
            put(jar, "OSGI-INF/provider.xml", component(WarmUpProvider.class, "java.lang.Runnable", ""));
            put(
                    jar,
                    "OSGI-INF/consumer.xml",
                    component(
                            WarmUpConsumer.class,
                            "java.util.function.BooleanSupplier",
                            "  <reference name=\"Provider\" cardinality=\"1..1\" policy=\"static\""
                                    + " interface=\"java.lang.Runnable\" bind=\"setProvider\"/>\n"
                                    + "  <reference name=\"Executor\" cardinality=\"0..1\" policy=\"dynamic\""
                                    + " interface=\"java.util.concurrent.Executor\" bind=\"bindExecutor\""
                                    + " unbind=\"unbindExecutor\"/>\n"));
            for (Class<?> c :
                    new Class<?>[] {WarmUpProvider.class, WarmUpConsumer.class, WarmUpConsumer.Config.class}) {
                String path = c.getName().replace('.', '/') + ".class";
                try (InputStream in = ScrRehearsal.class.getClassLoader().getResourceAsStream(path)) {
                    if (in == null) {
                        throw new IOException("class file " + path + " not found");
                    }
                    put(jar, path, in.readAllBytes());
                }
            }
        }
        return out.toByteArray();
    }

    private static byte[] component(Class<?> impl, String service, String references) {
        String name = impl.getName();
        return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        + "<scr:component xmlns:scr=\"http://www.osgi.org/xmlns/scr/v1.3.0\" name=\"" + name + "\""
                        + " configuration-policy=\"optional\" immediate=\"true\" activate=\"activate\""
                        + " deactivate=\"deactivate\" configuration-pid=\"" + name + "\">\n"
                        + "  <property name=\"" + SYMBOLIC_NAME + "\" type=\"Boolean\" value=\"true\"/>\n"
                        + "  <property name=\"queueDepth\" type=\"Integer\" value=\"64\"/>\n"
                        + "  <service><provide interface=\"" + service + "\"/></service>\n"
                        + references
                        + "  <implementation class=\"" + name + "\"/>\n"
                        + "</scr:component>\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static void put(JarOutputStream jar, String path, byte[] bytes) throws IOException {
        jar.putNextEntry(new JarEntry(path));
        jar.write(bytes);
        jar.closeEntry();
    }
}
