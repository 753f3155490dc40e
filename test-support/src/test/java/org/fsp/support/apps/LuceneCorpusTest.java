package org.fsp.support.apps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.PhraseQuery;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.junit.jupiter.api.Test;

class LuceneCorpusTest {

    @Test
    void shouldGenerateTheSameBodiesInTheSameOrderInEveryCorpus() {
        LuceneCorpus a = new LuceneCorpus();
        LuceneCorpus b = new LuceneCorpus();
        String first = a.nextBody();

        assertEquals(first, b.nextBody());
        assertEquals(a.nextBody(), b.nextBody());
        assertNotEquals(first, a.nextBody(), "each body is drawn anew");
    }

    @Test
    void shouldMakeBodiesOf20To219WordsEachEndedByASpace() {
        LuceneCorpus corpus = new LuceneCorpus();
        for (int i = 0; i < 500; i++) {
            String body = corpus.nextBody();
            int words = body.split(" ").length;
            assertTrue(words >= 20 && words <= 219, words + " words");
            assertTrue(body.endsWith(" "));
        }
    }

    @Test
    void shouldStoreTheIdAndIndexTheBodyOnly() {
        Document doc = LuceneCorpus.document(7, "alpha beta ");

        assertEquals("doc7", doc.get("id"));
        assertTrue(doc.getField("id").fieldType().stored());
        assertTrue(!doc.getField("body").fieldType().stored());
    }

    @Test
    void shouldCycleThroughTermBooleanAndPhraseQueries() {
        LuceneCorpus corpus = new LuceneCorpus();

        assertInstanceOf(TermQuery.class, corpus.query(0));
        assertInstanceOf(BooleanQuery.class, corpus.query(1));
        assertInstanceOf(PhraseQuery.class, corpus.query(2));
        assertEquals(corpus.query(4), new LuceneCorpus().query(4));
    }

    @Test
    void shouldFindDocumentsWithItsQueriesInAnIndexOfItsDocuments() throws IOException {
        LuceneCorpus corpus = new LuceneCorpus();
        try (Directory d = new ByteBuffersDirectory()) {
            try (IndexWriter w = new IndexWriter(d, new IndexWriterConfig(new StandardAnalyzer()))) {
                for (int i = 0; i < 300; i++) {
                    w.addDocument(LuceneCorpus.document(i, corpus.nextBody()));
                }
            }
            try (DirectoryReader reader = DirectoryReader.open(d)) {
                IndexSearcher searcher = new IndexSearcher(reader);
                assertTrue(searcher.count(corpus.query(0)) > 0, "the commonest words are in some document");
                assertNull(reader.storedFields().document(0).get("body"), "the body is not stored");
            }
        }
    }
}
