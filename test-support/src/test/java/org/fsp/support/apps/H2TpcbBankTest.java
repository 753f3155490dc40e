package org.fsp.support.apps;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class H2TpcbBankTest {

    @TempDir
    Path dir;

    @Test
    void shouldCreateTheBranchesTellersAndAccountsAtZero() throws SQLException {
        try (Connection c = open("created")) {
            H2TpcbBank.create(c);

            assertEquals(List.of((long) H2TpcbBank.BRANCHES, 0L), countAndSum(c, "branches", "bbalance"));
            assertEquals(List.of((long) H2TpcbBank.TELLERS, 0L), countAndSum(c, "tellers", "tbalance"));
            assertEquals(List.of((long) H2TpcbBank.ACCOUNTS, 0L), countAndSum(c, "accounts", "abalance"));
            assertEquals(List.of(0L, 0L), countAndSum(c, "history", "delta"));
        }
    }

    @Test
    void shouldKeepTheFourSumsEqualAndRecordEveryTransferUnderItsTxid() throws SQLException {
        try (Connection c = open("sums")) {
            H2TpcbBank.create(c);
            c.setAutoCommit(false);
            try (H2TpcbBank bank = new H2TpcbBank(c)) {
                Random r = new Random(42);
                for (long tx = 1; tx <= 200; tx++) {
                    bank.transfer(tx, r);
                    c.commit();
                }
                bank.checkpointSync();
            }

            long history = countAndSum(c, "history", "delta").get(1);
            assertEquals(history, countAndSum(c, "accounts", "abalance").get(1));
            assertEquals(history, countAndSum(c, "tellers", "tbalance").get(1));
            assertEquals(history, countAndSum(c, "branches", "bbalance").get(1));
            assertEquals(List.of(200L, 1L, 200L), one(c, "SELECT COUNT(*), MIN(txid), MAX(txid) FROM history"));
            // Each transfer keeps to one branch: its account's and its teller's.
            assertEquals(
                    List.of(0L),
                    one(
                            c,
                            "SELECT COUNT(*) FROM history h JOIN tellers t ON h.tid = t.tid JOIN accounts a ON h.aid"
                                    + " = a.aid WHERE h.bid <> t.bid OR h.bid <> a.bid"));
        }
    }

    @Test
    void shouldDrawTheSameTransfersFromTheSameSeed() throws SQLException {
        assertEquals(balancesAfter("first", 7), balancesAfter("second", 7));
    }

    private List<Long> balancesAfter(String name, long seed) throws SQLException {
        try (Connection c = open(name)) {
            H2TpcbBank.create(c);
            c.setAutoCommit(false);
            try (H2TpcbBank bank = new H2TpcbBank(c)) {
                Random r = new Random(seed);
                for (long tx = 1; tx <= 50; tx++) {
                    bank.transfer(tx, r);
                }
                c.commit();
            }
            return one(c, "SELECT SUM(abalance * (aid + 1)), SUM(abalance * abalance) FROM accounts");
        }
    }

    private Connection open(String name) throws SQLException {
        return DriverManager.getConnection("jdbc:h2:" + dir.resolve(name), "sa", "");
    }

    private static List<Long> countAndSum(Connection c, String table, String column) throws SQLException {
        return one(c, "SELECT COUNT(*), COALESCE(SUM(" + column + "), 0) FROM " + table);
    }

    private static List<Long> one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            Long[] row = new Long[rs.getMetaData().getColumnCount()];
            for (int i = 0; i < row.length; i++) {
                row[i] = rs.getLong(i + 1);
            }
            return List.of(row);
        }
    }
}
