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
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.HdrHistogram.Histogram;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.fsp.support.apps.H2TpcbBank;
import org.fsp.support.apps.LuceneCorpus;

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

    private final Path dir;
    private final LuceneCorpus corpus = new LuceneCorpus();
    /** The first bodies of the corpus, generated before any timing; document i has body i modulo their number. */
    private final String[] bodies = new String[2000];

    private Connection h2;
    private long lastTx;

    private AppsChild(Path dir) {
        this.dir = dir;
        for (int i = 0; i < bodies.length; i++) {
            bodies[i] = corpus.nextBody();
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
                H2TpcbBank.create(h2);
                // The filled tables reach the disk here, not in the first timed round.
                try (H2TpcbBank bank = new H2TpcbBank(h2)) {
                    bank.checkpointSync();
                }
                h2.setAutoCommit(false);
            }
            case "lucene-index" -> Files.createDirectories(dir.resolve("lucene-index"));
            case "lucene-search" -> {
                try (Directory d = FSDirectory.open(dir.resolve("lucene-search"));
                        IndexWriter w = new IndexWriter(d, indexConfig())) {
                    for (int i = 0; i < SEARCH_DOCS; i++) {
                        w.addDocument(LuceneCorpus.document(i, bodies[i % bodies.length]));
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

    /**
     * {@link H2TpcbBank} transactions, each committed and then made durable with CHECKPOINT SYNC (H2 does not fsync at
     * commit).
     */
    private void h2(int round, Lap lap, long deadline) throws SQLException {
        Random r = new Random(round + 10);
        try (H2TpcbBank bank = new H2TpcbBank(h2)) {
            lap.skip();
            while (System.nanoTime() < deadline) {
                bank.transfer(++lastTx, r);
                h2.commit();
                bank.checkpointSync();
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
                w.addDocument(LuceneCorpus.document(i, bodies[i % bodies.length]));
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
                queries.add(corpus.query(q));
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
}
