-- One row counting the writes that change which entries an agent is authorised for: every
-- transaction that writes registered_entries/selectors or attested_nodes/node_selectors bumps it
-- (first, so that concurrent writers queue on this row and bump in commit order). A server's
-- in-memory authorised-entries cache compares it with the revision it was built at, so writes by
-- another server sharing this database are noticed with one cheap read.
CREATE TABLE change_revision (
    id       INTEGER NOT NULL PRIMARY KEY,
    revision BIGINT  NOT NULL
);
INSERT INTO change_revision (id, revision) VALUES (1, 0);
