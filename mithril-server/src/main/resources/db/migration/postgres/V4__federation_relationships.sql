-- Federation relationships (SPIRE's federated_trust_domains): one row per federated trust domain,
-- with where its bundle endpoint is and how to authenticate it. Created by the CLI/admin API;
-- relationships written in server.conf (federates_with) are not stored, they live in the config.
CREATE TABLE federation_relationships (
    trust_domain TEXT NOT NULL PRIMARY KEY,
    data         BYTEA NOT NULL  -- mithril.types.v1.FederationRelationship
);
