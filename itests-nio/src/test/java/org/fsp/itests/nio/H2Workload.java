package org.fsp.itests.nio;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Random;
import org.fsp.support.apps.H2TpcbBank;

/**
 * The TPC-B-like transaction mix of {@link H2TpcbBank} on H2 (MVStore), run unmodified from its Maven Central jar in a
 * child JVM: {@code init} creates branches, tellers and accounts; {@code run N seed} commits N transactions (N &lt; 0:
 * until killed), numbered on from the last in history, and prints "COMMITTED txid" after each commit returned (with a
 * fifth argument, after a CHECKPOINT SYNC made it durable); {@code check} prints the invariants and a checksum of every
 * balance.
 */
public final class H2Workload {

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
        H2TpcbBank.create(c);
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
        try (H2TpcbBank bank = new H2TpcbBank(c)) {
            for (long tx = first; count < 0 || tx < first + count; tx++) {
                bank.transfer(tx, r);
                c.commit();
                if (durable) {
                    bank.checkpointSync();
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
