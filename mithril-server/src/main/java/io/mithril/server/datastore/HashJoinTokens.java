package io.mithril.server.datastore;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.migration.Context;
import org.flywaydb.core.api.migration.JavaMigration;

/**
 * Schema V3, on SQLite and PostgreSQL: join tokens are kept as their SHA-256 ({@code
 * join_tokens.token_hash}), so a copy of the datastore yields no usable token. Tokens stored in
 * clear by V1/V2 are hashed in place, so tokens generated before the upgrade still work. In Java
 * because SQLite has no SHA-256 function.
 */
final class HashJoinTokens implements JavaMigration {

    @Override
    public MigrationVersion getVersion() {
        return MigrationVersion.fromVersion("3");
    }

    @Override
    public String getDescription() {
        return "hash join tokens";
    }

    @Override
    public Integer getChecksum() {
        return 3;
    }

    @Override
    public boolean canExecuteInTransaction() {
        return true;
    }

    @Override
    public void migrate(Context context) throws Exception {
        Connection c = context.getConnection();
        try (Statement s = c.createStatement()) {
            s.executeUpdate("ALTER TABLE join_tokens RENAME COLUMN token TO token_hash");
        }
        List<String> clear = new ArrayList<>();
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT token_hash FROM join_tokens")) {
            while (rs.next()) {
                clear.add(rs.getString(1));
            }
        }
        try (PreparedStatement ps =
                c.prepareStatement("UPDATE join_tokens SET token_hash = ? WHERE token_hash = ?")) {
            for (String token : clear) {
                ps.setString(1, JoinToken.hash(token));
                ps.setString(2, token);
                ps.executeUpdate();
            }
        }
    }
}
