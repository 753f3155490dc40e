package org.fsp.admin;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.fsp.api.launch.FrameworkProperties;
import org.fsp.api.launch.FrameworkSettings;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the Gogo shell on a UNIX socket so that {@code bin/fsp shell} can attach to a headless daemon, as Karaf's
 * {@code bin/client} does.
 *
 * <p>Only the daemon's own user and root may use it: the socket file is created mode 0600 and every connection's
 * peer is checked with SO_PEERCRED. Wire format per command: the client sends a UTF-8 line; the server answers
 * {@code int status} (0 done, 1 failed), {@code int length}, then the UTF-8 output.
 */
@Component(immediate = true)
@Designate(ocd = AdminShellServer.Config.class)
public final class AdminShellServer {

    @ObjectClassDefinition(name = "FSP admin shell", description = "The socket bin/fsp shell attaches to.")
    public @interface Config {
        @AttributeDefinition(
                description = "Admin socket path; empty means the framework property fsp.admin.socket.path.")
        String socket_path() default "";
    }

    private static final Logger LOG = LoggerFactory.getLogger(AdminShellServer.class);
    private static final String ROOT = "root";

    @Reference
    private CommandProcessor processor;

    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private ServerSocketChannel server;
    private Path socketPath;
    private Thread acceptor;

    @Activate
    void activate(BundleContext context, Config config) throws IOException {
        String configured =
                FrameworkSettings.setting(config.socket_path(), context, FrameworkProperties.ADMIN_SOCKET_PATH, null);
        if (configured == null) {
            LOG.warn("no admin socket configured (fsp.admin.socket.path); bin/fsp shell cannot attach");
            return;
        }
        socketPath = Path.of(configured);
        Files.deleteIfExists(socketPath); // the launcher has already refused to start if a live daemon answered here
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socketPath));
        Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
        acceptor = Thread.ofPlatform().name("fsp-admin-accept").daemon().start(this::acceptLoop);
        LOG.info("admin shell listening on {}", socketPath);
    }

    @Deactivate
    void deactivate() throws IOException {
        if (server == null) {
            return;
        }
        server.close();
        for (SocketChannel c : connections) {
            c.close();
        }
        Files.deleteIfExists(socketPath);
    }

    /**
     * True if {@code peer} may use the shell: it is the socket's owner or root. Principals are compared, not their
     * names: the JDK's UNIX principals (from SO_PEERCRED and from a file's owner alike) are equal exactly when their
     * uids are, while names can be missing (a uid with no passwd entry is named by its number) or shared by two uids.
     *
     * @param root the principal of uid 0, or null if it cannot be looked up (then only the owner is let in)
     */
    static boolean mayUse(UserPrincipal peer, UserPrincipal owner, UserPrincipal root) {
        return peer.equals(owner) || (root != null && peer.equals(root));
    }

    /**
     * The principal of uid 0, or null: by the name root, else by the number 0 (a system with no passwd entry for root;
     * the JDK then takes the name as the uid).
     */
    static UserPrincipal rootPrincipal() {
        UserPrincipalLookupService users = FileSystems.getDefault().getUserPrincipalLookupService();
        for (String name : new String[] {ROOT, "0"}) {
            try {
                return users.lookupPrincipalByName(name);
            } catch (IOException e) {
                LOG.debug("no principal named {}", name, e);
            }
        }
        return null;
    }

    private void acceptLoop() {
        UserPrincipal self;
        try {
            self = Files.getOwner(socketPath);
        } catch (IOException e) {
            LOG.error("cannot read the admin socket's owner; refusing all connections", e);
            return;
        }
        UserPrincipal root = rootPrincipal();
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
                String user = peer.user().getName();
                if (!mayUse(peer.user(), self, root)) {
                    LOG.warn("refused admin connection from user {}", user);
                    reply(
                            new DataOutputStream(Channels.newOutputStream(ch)),
                            1,
                            "only " + self.getName() + " and root may use the admin shell\n");
                    ch.close();
                    continue;
                }
                connections.add(ch);
                Thread.ofPlatform().name("fsp-admin-" + user).daemon().start(() -> serve(ch));
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.warn("admin socket accept failed", e);
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (ch) {
            InputStream in = Channels.newInputStream(ch);
            DataOutputStream out = new DataOutputStream(Channels.newOutputStream(ch));
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            PrintStream print = new PrintStream(buffer, true, StandardCharsets.UTF_8);
            try (CommandSession session = processor.createSession(InputStream.nullInputStream(), print, print)) {
                String line;
                while ((line = readLine(in)) != null) {
                    buffer.reset();
                    int status = 0;
                    try {
                        Object result = session.execute(line);
                        if (result != null) {
                            print.println(session.format(result, Converter.INSPECT));
                        }
                    } catch (Exception e) {
                        status = 1;
                        print.println(e.getMessage() == null ? e.toString() : e.getMessage());
                    }
                    print.flush();
                    reply(out, status, buffer.toString(StandardCharsets.UTF_8));
                }
            }
        } catch (IOException e) {
            LOG.debug("admin connection ended", e);
        } finally {
            connections.remove(ch);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') {
            line.write(b);
        }
        return b == -1 && line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
    }

    private static void reply(DataOutputStream out, int status, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        out.writeInt(status);
        out.writeInt(bytes.length);
        out.write(bytes);
        out.flush();
    }
}
