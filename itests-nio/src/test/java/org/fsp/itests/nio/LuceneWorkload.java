package org.fsp.itests.nio;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.SerialMergeScheduler;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.PhraseQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.MMapDirectory;
import org.apache.lucene.store.NIOFSDirectory;

/**
 * Apache Lucene from its Maven Central jar, unmodified: {@code index DIR nio|mmap DOCS} indexes a generated corpus
 * (seeded, so every run makes the same documents) into {@link NIOFSDirectory} or {@link MMapDirectory}, commits, then
 * searches it with term, boolean and phrase queries and prints each query's top hits as "query rank id score".
 */
public final class LuceneWorkload {

    private LuceneWorkload() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        boolean mmap = args[1].equals("mmap");
        int docs = Integer.parseInt(args[2]);
        Files.createDirectories(dir);
        String[] vocabulary = new String[2000];
        Random words = new Random(1);
        for (int i = 0; i < vocabulary.length; i++) {
            StringBuilder w = new StringBuilder();
            for (int k = 3 + words.nextInt(6); k > 0; k--) {
                w.append((char) ('a' + words.nextInt(26)));
            }
            vocabulary[i] = w.toString();
        }
        try (Directory d = mmap ? new MMapDirectory(dir) : new NIOFSDirectory(dir)) {
            IndexWriterConfig config = new IndexWriterConfig(new StandardAnalyzer())
                    .setMergeScheduler(new SerialMergeScheduler())
                    .setMaxBufferedDocs(500)
                    .setRAMBufferSizeMB(IndexWriterConfig.DISABLE_AUTO_FLUSH);
            Random r = new Random(2);
            try (IndexWriter w = new IndexWriter(d, config)) {
                for (int i = 0; i < docs; i++) {
                    StringBuilder body = new StringBuilder();
                    for (int k = 20 + r.nextInt(200); k > 0; k--) {
                        // Zipf-like: low word numbers are common
                        int idx = (int) Math.min(vocabulary.length - 1, Math.abs(r.nextGaussian()) * 300);
                        body.append(vocabulary[idx]).append(' ');
                    }
                    Document doc = new Document();
                    doc.add(new StringField("id", "doc" + i, Field.Store.YES));
                    doc.add(new TextField("body", body.toString(), Field.Store.NO));
                    w.addDocument(doc);
                    if (i % 3000 == 2999) {
                        w.commit();
                    }
                }
                w.forceMerge(3);
                w.commit();
            }
            try (DirectoryReader reader = DirectoryReader.open(d)) {
                IndexSearcher searcher = new IndexSearcher(reader);
                StoredFields stored = reader.storedFields();
                System.out.println("DOCS " + reader.numDocs());
                for (int q = 0; q < 30; q++) {
                    Query query = query(q, vocabulary);
                    TopDocs top = searcher.search(query, 10);
                    System.out.println("QUERY " + q + " " + query + " total=" + top.totalHits);
                    int rank = 0;
                    for (ScoreDoc sd : top.scoreDocs) {
                        System.out.println(
                                q + " " + rank++ + " " + stored.document(sd.doc).get("id") + " " + sd.score);
                    }
                }
            }
        }
    }

    private static Query query(int q, String[] v) {
        Term a = new Term("body", v[q * 7 % 400]);
        Term b = new Term("body", v[q * 13 % 300 + 1]);
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
}
