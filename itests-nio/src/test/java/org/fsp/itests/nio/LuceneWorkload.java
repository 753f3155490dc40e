package org.fsp.itests.nio;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.SerialMergeScheduler;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.MMapDirectory;
import org.apache.lucene.store.NIOFSDirectory;
import org.fsp.support.apps.LuceneCorpus;

/**
 * Apache Lucene from its Maven Central jar, unmodified: {@code DIR nio|mmap DOCS} indexes the first DOCS documents of
 * {@link LuceneCorpus} (seeded, so every run makes the same documents) into {@link NIOFSDirectory} or
 * {@link MMapDirectory}, commits, then searches it with the corpus's term, boolean and phrase queries and prints each
 * query's top hits as "query rank id score".
 */
public final class LuceneWorkload {

    private LuceneWorkload() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        boolean mmap = args[1].equals("mmap");
        int docs = Integer.parseInt(args[2]);
        Files.createDirectories(dir);
        LuceneCorpus corpus = new LuceneCorpus();
        try (Directory d = mmap ? new MMapDirectory(dir) : new NIOFSDirectory(dir)) {
            IndexWriterConfig config = new IndexWriterConfig(new StandardAnalyzer())
                    .setMergeScheduler(new SerialMergeScheduler())
                    .setMaxBufferedDocs(500)
                    .setRAMBufferSizeMB(IndexWriterConfig.DISABLE_AUTO_FLUSH);
            try (IndexWriter w = new IndexWriter(d, config)) {
                for (int i = 0; i < docs; i++) {
                    w.addDocument(LuceneCorpus.document(i, corpus.nextBody()));
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
                    Query query = corpus.query(q);
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
}
