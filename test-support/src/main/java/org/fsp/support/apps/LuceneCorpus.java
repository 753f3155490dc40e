package org.fsp.support.apps;

import java.util.Random;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.PhraseQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermQuery;

/**
 * The generated text the Lucene workloads of {@code fsp bench apps} and of the nio suites index and search: a
 * vocabulary of {@value #WORDS} random words, document bodies of 20 to 219 words drawn from it, and term, boolean and
 * phrase queries on the {@code body} field. The vocabulary and the bodies are seeded, so every JVM generates the same
 * documents in the same order and the same queries, and two runs can be compared hit for hit. Not thread-safe: the
 * bodies come from one random sequence.
 *
 * <p>A typical sequence is: {@code LuceneCorpus corpus = new LuceneCorpus()}; for i = 0, 1, ... add
 * {@code LuceneCorpus.document(i, corpus.nextBody())} to an {@code IndexWriter} and commit; then search with
 * {@code corpus.query(q)} for q = 0, 1, ...
 */
public final class LuceneCorpus {

    public static final int WORDS = 2000;

    private final String[] vocabulary = new String[WORDS];
    private final Random bodies = new Random(2);

    /** A corpus at its first body. */
    public LuceneCorpus() {
        Random words = new Random(1);
        for (int i = 0; i < vocabulary.length; i++) {
            StringBuilder w = new StringBuilder();
            for (int k = 3 + words.nextInt(6); k > 0; k--) {
                w.append((char) ('a' + words.nextInt(26)));
            }
            vocabulary[i] = w.toString();
        }
    }

    /** The next document body: 20 to 219 words separated (and ended) by a space. */
    public String nextBody() {
        StringBuilder body = new StringBuilder();
        for (int k = 20 + bodies.nextInt(200); k > 0; k--) {
            // Zipf-like: low word numbers are common
            int idx = (int) Math.min(vocabulary.length - 1, Math.abs(bodies.nextGaussian()) * 300);
            body.append(vocabulary[idx]).append(' ');
        }
        return body.toString();
    }

    /** Document {@code i}: its id {@code doc<i>}, stored, and {@code body}, indexed only. */
    public static Document document(int i, String body) {
        Document doc = new Document();
        doc.add(new StringField("id", "doc" + i, Field.Store.YES));
        doc.add(new TextField("body", body, Field.Store.NO));
        return doc;
    }

    /** Query {@code q}: by {@code q % 3} a term query, a boolean query of two terms, or a phrase query with slop 1. */
    public Query query(int q) {
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
}
