package org.fsp.bench.eval;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.HdrHistogram.Histogram;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.PhraseQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;

/**
 * The client JVM of {@code fsp bench apps}: runs the application workloads (H2, Lucene, and {@code Files} calls)
 * against one directory, told what to do line by line on stdin, and answers each line on stdout. The same class runs
 * on FSP (started with FSP's provider as the default file system provider, the directory under {@code /fsp}) and on
 * the kernel file systems (the platform provider), so the code measured is the same.
 *
 * <p>Protocol, one line each way: {@code prepare WORKLOAD} answers {@code @@OK}; {@code run WORKLOAD ROUND SECONDS}
 * answers {@code @@RESULT} and the {@link #encode encoded} measurement; a failure answers {@code @@ERROR} and the
 * exception; {@code quit} ends the JVM. Anything else on stdout (an application's own output) is not protocol.
 */
public final class AppsChild {

    static final List<String> WORKLOADS =
            List.of("h2-tpcb", "lucene-index", "lucene-search", "readAllBytes", "write", "readAttributes");

    static final int MICRO_FILES = 1000;
    static final int MICRO_BYTES = 4096;
    static final int SEARCH_DOCS = 20_000;
    static final int H2_BRANCHES = 4;
    static final int H2_TELLERS = 40;
    static final int H2_ACCOUNTS = 4000;

    private final Path dir;
    private final String[] vocabulary = vocabulary();
    private final String[] bodies;
    private Connection h2;
    private long lastTx;

    private AppsChild(Path dir) {
        this.dir = dir;
        Random r = new Random(2);
        bodies = new String[2000];
        for (int i = 0; i < bodies.length; i++) {
            StringBuilder body = new StringBuilder();
            for (int k = 20 + r.nextInt(200); k > 0; k--) {
                // Zipf-like: low word numbers are common
                int idx = (int) Math.min(vocabulary.length - 1, Math.abs(r.nextGaussian()) * 300);
                body.append(vocabulary[idx]).append(' ');
            }
            bodies[i] = body.toString();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: AppsChild DIR (then commands on stdin)");
            System.exit(2);
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        AppsChild child = new AppsChild(Path.of(args[0]));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] w = line.strip().split(" ");
            if (w[0].equals("quit")) {
                break;
            }
            try {
                switch (w[0]) {
                    case "prepare" -> {
                        child.prepare(w[1]);
                        out.println("@@OK");
                    }
                    case "run" ->
                        out.println("@@RESULT "
                                + encode(child.run(w[1], Integer.parseInt(w[2]), Double.parseDouble(w[3]))));
                    default -> throw new IllegalArgumentException("unknown command: " + line);
                }
            } catch (Exception e) {
                e.printStackTrace();
                out.println("@@ERROR " + String.valueOf(e).replace('\n', ' '));
            }
        }
        if (child.h2 != null) {
            child.h2.close();
        }
    }

    /** "OPS NANOS HISTOGRAM": the histogram in HdrHistogram's compressed form, Base64. */
    static String encode(Measurement m) {
        ByteBuffer b = ByteBuffer.allocate(m.latency().getNeededByteBufferCapacity());
        int n = m.latency().encodeIntoCompressedByteBuffer(b);
        return m.ops() + " " + m.nanos() + " "
                + Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(b.array(), n));
    }

    /** The inverse of {@link #encode}; a malformed text fails with what it was. */
    static Measurement decode(String text) {
        String[] f = text.strip().split(" ");
        if (f.length != 3) {
            throw new IllegalArgumentException("not 'OPS NANOS HISTOGRAM': " + text);
        }
        try {
            Histogram h = Histogram.decodeFromCompressedByteBuffer(
                    ByteBuffer.wrap(Base64.getDecoder().decode(f[2])), 0);
            return new Measurement(Long.parseLong(f[0]), Long.parseLong(f[1]), h);
        } catch (java.util.zip.DataFormatException | RuntimeException e) {
            // a truncated or foreign buffer fails inside HdrHistogram with whatever its reader tripped on
            throw new IllegalArgumentException("not 'OPS NANOS HISTOGRAM': " + text + " (" + e.getMessage() + ")", e);
        }
    }

    private void prepare(String workload) throws Exception {
        switch (workload) {
            case "h2-tpcb" -> {
                Files.createDirectories(dir.resolve("h2"));
                h2 = DriverManager.getConnection("jdbc:h2:" + dir.resolve("h2/bank") + ";WRITE_DELAY=0", "sa", "");
                try (Statement s = h2.createStatement()) {
                    s.execute("CREATE TABLE branches(bid INT PRIMARY KEY, bbalance BIGINT NOT NULL)");
                    s.execute("CREATE TABLE tellers(tid INT PRIMARY KEY, bid INT NOT NULL, tbalance BIGINT NOT NULL)");
                    s.execute("CREATE TABLE accounts(aid INT PRIMARY KEY, bid INT NOT NULL, abalance BIGINT NOT NULL,"
                            + " filler VARCHAR(84))");
                    s.execute("CREATE TABLE history(txid BIGINT PRIMARY KEY, tid INT, bid INT, aid INT, delta BIGINT)");
                    s.execute("INSERT INTO branches SELECT x, 0 FROM SYSTEM_RANGE(0, " + (H2_BRANCHES - 1) + ")");
                    s.execute("INSERT INTO tellers SELECT x, MOD(x, " + H2_BRANCHES + "), 0 FROM SYSTEM_RANGE(0, "
                            + (H2_TELLERS - 1) + ")");
                    s.execute("INSERT INTO accounts SELECT x, MOD(x, " + H2_BRANCHES + "), 0, REPEAT('x', 84) FROM"
                            + " SYSTEM_RANGE(0, " + (H2_ACCOUNTS - 1) + ")");
                    s.execute("CHECKPOINT SYNC");
                }
                h2.setAutoCommit(false);
            }
            case "lucene-index" -> Files.createDirectories(dir.resolve("lucene-index"));
            case "lucene-search" -> {
                try (Directory d = FSDirectory.open(dir.resolve("lucene-search"));
                        IndexWriter w = new IndexWriter(d, indexConfig())) {
                    for (int i = 0; i < SEARCH_DOCS; i++) {
                        w.addDocument(document(i));
                    }
                    w.forceMerge(1);
                    w.commit();
                }
            }
            case "readAllBytes", "write", "readAttributes" -> {
                Path micro = dir.resolve("micro");
                if (!Files.isDirectory(micro)) {
                    Files.createDirectories(micro);
                    byte[] data = new byte[MICRO_BYTES];
                    new Random(3).nextBytes(data);
                    for (int i = 0; i < MICRO_FILES; i++) {
                        Files.write(micro.resolve("f" + i), data);
                    }
                }
            }
            default -> throw new IllegalArgumentException("unknown workload " + workload + ": one of " + WORKLOADS);
        }
    }

    private Measurement run(String workload, int round, double seconds) throws Exception {
        return switch (workload) {
            case "h2-tpcb" -> Timed.run(1, seconds, (t, lap, deadline) -> h2(round, lap, deadline));
            case "lucene-index" -> Timed.run(1, seconds, (t, lap, deadline) -> index(round, lap, deadline));
            case "lucene-search" -> search(seconds);
            case "readAllBytes", "write", "readAttributes" -> micro(workload, seconds);
            default -> throw new IllegalArgumentException("unknown workload " + workload + ": one of " + WORKLOADS);
        };
    }

    /** TPC-B-like transactions, each committed and then made durable with CHECKPOINT SYNC (H2 does not fsync at commit). */
    private void h2(int round, Lap lap, long deadline) throws SQLException {
        Random r = new Random(round + 10);
        try (PreparedStatement acc = h2.prepareStatement("UPDATE accounts SET abalance = abalance + ? WHERE aid = ?");
                PreparedStatement tel =
                        h2.prepareStatement("UPDATE tellers SET tbalance = tbalance + ? WHERE tid = ?");
                PreparedStatement br =
                        h2.prepareStatement("UPDATE branches SET bbalance = bbalance + ? WHERE bid = ?");
                PreparedStatement sel = h2.prepareStatement("SELECT abalance FROM accounts WHERE aid = ?");
                PreparedStatement his = h2.prepareStatement("INSERT INTO history VALUES (?, ?, ?, ?, ?)");
                Statement sync = h2.createStatement()) {
            lap.skip();
            while (System.nanoTime() < deadline) {
                int aid = r.nextInt(H2_ACCOUNTS);
                int bid = aid % H2_BRANCHES;
                int tid = bid + H2_BRANCHES * r.nextInt(H2_TELLERS / H2_BRANCHES);
                long delta = r.nextInt(1_999_999) - 999_999;
                acc.setLong(1, delta);
                acc.setInt(2, aid);
                acc.executeUpdate();
                sel.setInt(1, aid);
                sel.executeQuery().close();
                tel.setLong(1, delta);
                tel.setInt(2, tid);
                tel.executeUpdate();
                br.setLong(1, delta);
                br.setInt(2, bid);
                br.executeUpdate();
                his.setLong(1, ++lastTx);
                his.setInt(2, tid);
                his.setInt(3, bid);
                his.setInt(4, aid);
                his.setLong(5, delta);
                his.executeUpdate();
                h2.commit();
                sync.execute("CHECKPOINT SYNC");
                lap.lap();
            }
        }
    }

    /** Indexes documents into a new index until the deadline, committing (fsync) every 1000 and at the end. */
    private void index(int round, Lap lap, long deadline) throws IOException {
        Path d = dir.resolve("lucene-index").resolve("r" + (round + 1));
        try (Directory fs = FSDirectory.open(d);
                IndexWriter w = new IndexWriter(fs, indexConfig())) {
            lap.skip();
            for (int i = 0; System.nanoTime() < deadline; i++) {
                w.addDocument(document(i));
                if (i % 1000 == 999) {
                    w.commit();
                }
                lap.lap();
            }
            w.commit();
        }
    }

    /** Term, boolean and phrase queries (top 10) on the index prepare built, through a reader opened before timing. */
    private Measurement search(double seconds) throws Exception {
        try (Directory d = FSDirectory.open(dir.resolve("lucene-search"));
                DirectoryReader reader = DirectoryReader.open(d)) {
            IndexSearcher searcher = new IndexSearcher(reader);
            List<Query> queries = new ArrayList<>();
            for (int q = 0; q < 300; q++) {
                queries.add(query(q));
            }
            return Timed.run(1, seconds, (t, lap, deadline) -> {
                for (int q = 0; System.nanoTime() < deadline; q++) {
                    searcher.search(queries.get(q % queries.size()), 10);
                    lap.lap();
                }
            });
        }
    }

    private Measurement micro(String workload, double seconds) throws Exception {
        Path micro = dir.resolve("micro");
        Path[] files = new Path[MICRO_FILES];
        for (int i = 0; i < files.length; i++) {
            files[i] = micro.resolve("f" + i);
        }
        byte[] data = new byte[MICRO_BYTES];
        new Random(4).nextBytes(data);
        long[] sink = new long[1];
        Measurement m = Timed.run(1, seconds, (t, lap, deadline) -> {
            for (int i = 0; System.nanoTime() < deadline; i++) {
                Path p = files[i % files.length];
                switch (workload) {
                    case "readAllBytes" -> sink[0] += Files.readAllBytes(p).length;
                    case "write" -> Files.write(p, data);
                    default ->
                        sink[0] += Files.readAttributes(p, BasicFileAttributes.class)
                                .size();
                }
                lap.lap();
            }
        });
        if (!workload.equals("write") && sink[0] == 0) {
            throw new IllegalStateException(workload + " read nothing");
        }
        return m;
    }

    private static IndexWriterConfig indexConfig() {
        return new IndexWriterConfig(new StandardAnalyzer()).setRAMBufferSizeMB(16);
    }

    private Document document(int i) {
        Document doc = new Document();
        doc.add(new StringField("id", "doc" + i, Field.Store.YES));
        doc.add(new TextField("body", bodies[i % bodies.length], Field.Store.NO));
        return doc;
    }

    private Query query(int q) {
        Term a = new Term("body", vocabulary[q * 7 % 400]);
        Term b = new Term("body", vocabulary[q * 13 % 300 + 1]);
        return switch (q % 3) {
            case 0 -> new TermQuery(a);
            case 1 ->
                new BooleanQuery.Builder()
                        .add(new TermQuery(a), BooleanClause.Occur.SHOULD)
                        .add(new TermQuery(b), BooleanClause.Occur.MUST)
                        .build();
            default -> new PhraseQuery(1, "body", a.text(), b.text());
        };
    }

    private static String[] vocabulary() {
        String[] v = new String[2000];
        Random words = new Random(1);
        for (int i = 0; i < v.length; i++) {
            StringBuilder w = new StringBuilder();
            for (int k = 3 + words.nextInt(6); k > 0; k--) {
                w.append((char) ('a' + words.nextInt(26)));
            }
            v[i] = w.toString();
        }
        return v;
    }
}
