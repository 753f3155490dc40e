package org.fsp.itests.nio;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Random;

/**
 * A TPC-B-like transaction mix on H2 (MVStore), run unmodified from its Maven Central jar in a child JVM: {@code init}
 * creates branches, tellers and accounts; {@code run N seed} commits N transactions (N &lt; 0: until killed), each
 * moving a random delta into one account, its teller and its branch and recording it in history, and prints
 * "COMMITTED txid" after each commit returned (with a fifth argument, after a CHECKPOINT SYNC made it durable); {@code check} prints the invariants and a checksum of every balance.
 */
public final class H2Workload {

    static final int BRANCHES = 4;
    static final int TELLERS = 40;
    static final int ACCOUNTS = 4000;

    private H2Workload() {}

    public static void main(String[] args) throws Exception {
        String url = args[0];
        try (Connection c = DriverManager.getConnection(url, "sa", "")) {
            switch (args[1]) {
                case "init" -> init(c);
                case "run" -> run(c, Integer.parseInt(args[2]), Long.parseLong(args[3]), args.length > 4);
                case "check" -> check(c);
                default -> throw new IllegalArgumentException(args[1]);
            }
        }
        System.out.flush();
    }

    private static void init(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
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
        System.out.println("INITIALIZED");
    }

    private static void run(Connection c, int count, long seed, boolean durable) throws SQLException {
        c.setAutoCommit(false);
        Random r = new Random(seed);
        long first;
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(txid), 0) FROM history")) {
            rs.next();
            first = rs.getLong(1) + 1;
        }
        c.commit();
        try (PreparedStatement acc = c.prepareStatement("UPDATE accounts SET abalance = abalance + ? WHERE aid = ?");
                PreparedStatement tel = c.prepareStatement("UPDATE tellers SET tbalance = tbalance + ? WHERE tid = ?");
                PreparedStatement br = c.prepareStatement("UPDATE branches SET bbalance = bbalance + ? WHERE bid = ?");
                PreparedStatement sel = c.prepareStatement("SELECT abalance FROM accounts WHERE aid = ?");
                PreparedStatement his = c.prepareStatement("INSERT INTO history VALUES (?, ?, ?, ?, ?)")) {
            for (long tx = first; count < 0 || tx < first + count; tx++) {
                int aid = r.nextInt(ACCOUNTS);
                int bid = aid % BRANCHES;
                int tid = bid + BRANCHES * r.nextInt(TELLERS / BRANCHES);
                long delta = r.nextInt(1_999_999) - 999_999;
                acc.setLong(1, delta);
                acc.setInt(2, aid);
                acc.executeUpdate();
                sel.setInt(1, aid);
                try (ResultSet rs = sel.executeQuery()) {
                    rs.next();
                }
                tel.setLong(1, delta);
                tel.setInt(2, tid);
                tel.executeUpdate();
                br.setLong(1, delta);
                br.setInt(2, bid);
                br.executeUpdate();
                his.setLong(1, tx);
                his.setInt(2, tid);
                his.setInt(3, bid);
                his.setInt(4, aid);
                his.setLong(5, delta);
                his.executeUpdate();
                c.commit();
                if (durable) {
                    // H2 does not fsync at commit; an application that needs durable commits asks for it.
                    try (Statement s = c.createStatement()) {
                        s.execute("CHECKPOINT SYNC");
                    }
                }
                System.out.println("COMMITTED " + tx);
            }
        }
    }

    private static void check(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            long a = one(s, "SELECT COALESCE(SUM(abalance), 0) FROM accounts");
            long t = one(s, "SELECT COALESCE(SUM(tbalance), 0) FROM tellers");
            long b = one(s, "SELECT COALESCE(SUM(bbalance), 0) FROM branches");
            long h = one(s, "SELECT COALESCE(SUM(delta), 0) FROM history");
            System.out.println("SUMS " + a + " " + t + " " + b + " " + h);
            System.out.println("HISTORY " + one(s, "SELECT COUNT(*) FROM history"));
            System.out.println("MAXTX " + one(s, "SELECT COALESCE(MAX(txid), 0) FROM history"));
            long checksum = 0;
            try (ResultSet rs = s.executeQuery("SELECT aid, abalance FROM accounts ORDER BY aid")) {
                while (rs.next()) {
                    checksum = checksum * 31 + rs.getLong(2) * (rs.getInt(1) + 1);
                }
            }
            System.out.println("CHECKSUM " + checksum);
            try (ResultSet rs = s.executeQuery("SELECT txid FROM history ORDER BY txid")) {
                StringBuilder sb = new StringBuilder("TXIDS");
                while (rs.next()) {
                    sb.append(' ').append(rs.getLong(1));
                }
                System.out.println(sb);
            }
        }
    }

    private static long one(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
