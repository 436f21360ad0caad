-- Mithril identity server schema (PostgreSQL). Each write of the server runs in one transaction.
CREATE TABLE registered_entries (
    entry_id        TEXT    NOT NULL PRIMARY KEY,
    entry_key       TEXT    NOT NULL,  -- sha256 of spiffe_id, parent_id and sorted selectors: SPIRE's uniqueness rule
    spiffe_id       TEXT    NOT NULL,
    parent_id       TEXT    NOT NULL,
    x509_svid_ttl   INTEGER NOT NULL,
    jwt_svid_ttl    INTEGER NOT NULL,
    dns_names       TEXT    NOT NULL,  -- newline-separated
    federates_with  TEXT    NOT NULL,  -- newline-separated
    admin           BOOLEAN NOT NULL,
    downstream      BOOLEAN NOT NULL,
    hint            TEXT    NOT NULL,
    revision_number BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX registered_entries_key ON registered_entries (entry_key);
CREATE INDEX registered_entries_parent ON registered_entries (parent_id);
CREATE INDEX registered_entries_spiffe ON registered_entries (spiffe_id);

CREATE TABLE selectors (
    entry_id TEXT NOT NULL,
    type     TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (entry_id, type, value)
);
CREATE INDEX selectors_type_value ON selectors (type, value);

CREATE TABLE attested_nodes (
    spiffe_id        TEXT    NOT NULL PRIMARY KEY,
    attestation_type TEXT    NOT NULL,
    serial_number    TEXT    NOT NULL,
    expires_at       BIGINT  NOT NULL,
    banned           BOOLEAN NOT NULL,
    created_at       BIGINT  NOT NULL
);

CREATE TABLE node_selectors (
    spiffe_id TEXT NOT NULL,
    type      TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (spiffe_id, type, value)
);

CREATE TABLE join_tokens (
    token      TEXT   NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE TABLE bundles (
    trust_domain TEXT NOT NULL PRIMARY KEY,
    data         BYTEA NOT NULL  -- mithril.types.v1.Bundle
);

CREATE TABLE ca_journals (
    journal_id TEXT   NOT NULL PRIMARY KEY,
    data       BYTEA   NOT NULL,
    updated_at BIGINT NOT NULL
);
