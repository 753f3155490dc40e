package org.fsp.support.apps;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Random;

/**
 * A TPC-B-like bank in an H2 database, the H2 workload of {@code fsp bench apps} and of the nio suites: {@value
 * #BRANCHES} branches, {@value #TELLERS} tellers and {@value #ACCOUNTS} accounts, every balance 0, and a history
 * table. Each transaction moves one random delta into an account, its teller and its branch and records it in
 * history, so the sums of the four tables stay equal whichever transactions committed. An instance holds the
 * transaction's prepared statements on one connection; committing and syncing are the caller's, because the callers
 * differ in how durable a transaction must be. The same seed draws the same transactions in every JVM.
 *
 * <p>A typical sequence is: {@link #create} once on a new database; {@code new H2TpcbBank(connection)} on a connection
 * with auto-commit off; per transaction {@link #transfer}, {@code connection.commit()} and, where the commit must be
 * durable, {@link #checkpointSync}; {@link #close}.
 */
public final class H2TpcbBank implements AutoCloseable {

    public static final int BRANCHES = 4;
    public static final int TELLERS = 40;
    public static final int ACCOUNTS = 4000;

    private final PreparedStatement account;
    private final PreparedStatement teller;
    private final PreparedStatement branch;
    private final PreparedStatement balance;
    private final PreparedStatement history;
    private final Statement sync;

    /**
     * Prepares the transaction's statements on {@code connection}. If one fails, those prepared before it are closed
     * with the connection, as JDBC closes every statement of a connection.
     */
    public H2TpcbBank(Connection connection) throws SQLException {
        account = connection.prepareStatement("UPDATE accounts SET abalance = abalance + ? WHERE aid = ?");
        teller = connection.prepareStatement("UPDATE tellers SET tbalance = tbalance + ? WHERE tid = ?");
        branch = connection.prepareStatement("UPDATE branches SET bbalance = bbalance + ? WHERE bid = ?");
        balance = connection.prepareStatement("SELECT abalance FROM accounts WHERE aid = ?");
        history = connection.prepareStatement("INSERT INTO history VALUES (?, ?, ?, ?, ?)");
        sync = connection.createStatement();
    }

    /** Creates the four tables in {@code connection}'s database and fills branches, tellers and accounts. */
    public static void create(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("CREATE TABLE branches(bid INT PRIMARY KEY, bbalance BIGINT NOT NULL)");
            s.execute("CREATE TABLE tellers(tid INT PRIMARY KEY, bid INT NOT NULL, tbalance BIGINT NOT NULL)");
            s.execute("CREATE TABLE accounts(aid INT PRIMARY KEY, bid INT NOT NULL, abalance BIGINT NOT NULL,"
                    + " filler VARCHAR(84))");
            s.execute("CREATE TABLE history(txid BIGINT PRIMARY KEY, tid INT, bid INT, aid INT, delta BIGINT)");
            s.execute("INSERT INTO branches SELECT x, 0 FROM SYSTEM_RANGE(0, " + (BRANCHES - 1) + ")");
            s.execute("INSERT INTO tellers SELECT x, MOD(x, " + BRANCHES + "), 0 FROM SYSTEM_RANGE(0, " + (TELLERS - 1)
                    + ")");
            s.execute("INSERT INTO accounts SELECT x, MOD(x, " + BRANCHES + "), 0, REPEAT('x', 84) FROM"
                    + " SYSTEM_RANGE(0, " + (ACCOUNTS - 1) + ")");
        }
    }

    /**
     * One transaction, not committed: a random account (its branch with it) and a random teller of that branch get a
     * delta in [-999 999, 999 999], the account's balance is read, and history row {@code txid} records it. Takes
     * three draws from {@code random}.
     */
    public void transfer(long txid, Random random) throws SQLException {
        int aid = random.nextInt(ACCOUNTS);
        int bid = aid % BRANCHES;
        int tid = bid + BRANCHES * random.nextInt(TELLERS / BRANCHES);
        long delta = random.nextInt(1_999_999) - 999_999;
        account.setLong(1, delta);
        account.setInt(2, aid);
        account.executeUpdate();
        balance.setInt(1, aid);
        try (ResultSet rs = balance.executeQuery()) {
            rs.next();
        }
        teller.setLong(1, delta);
        teller.setInt(2, tid);
        teller.executeUpdate();
        branch.setLong(1, delta);
        branch.setInt(2, bid);
        branch.executeUpdate();
        history.setLong(1, txid);
        history.setInt(2, tid);
        history.setInt(3, bid);
        history.setInt(4, aid);
        history.setLong(5, delta);
        history.executeUpdate();
    }

    /**
     * Makes what is committed durable ({@code CHECKPOINT SYNC}, which ends in {@code FileChannel.force}): H2 does not
     * fsync at commit, so an application that needs durable commits asks for it.
     */
    public void checkpointSync() throws SQLException {
        sync.execute("CHECKPOINT SYNC");
    }

    @Override
    public void close() throws SQLException {
        for (Statement s : List.of(account, teller, branch, balance, history, sync)) {
            s.close();
        }
    }
}
