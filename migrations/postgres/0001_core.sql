-- Core schema: tenant settings, signing keys, applications, APIs and client grants.
-- Instants are milliseconds since the Unix epoch; lists and objects are JSON text.

CREATE TABLE tenant_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,          -- PKCS#8, sealed under the master key
    is_current BIGINT,                  -- 1 for the key that signs; NULL otherwise
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (is_current);

CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    app_type TEXT NOT NULL,
    is_first_party BIGINT NOT NULL,
    token_endpoint_auth_method TEXT,    -- NULL while Private Key JWT is the method
    grant_types TEXT NOT NULL,
    jwt_configuration TEXT NOT NULL,
    client_metadata TEXT NOT NULL,
    client_secret TEXT NOT NULL,        -- sealed under the master key
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX clients_by_creation ON clients (created_at, client_id);

CREATE TABLE resource_servers (
    id TEXT PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    signing_alg TEXT NOT NULL,
    token_lifetime BIGINT NOT NULL,
    is_system BIGINT,                   -- 1 for the built-in Management API; NULL otherwise
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX resource_servers_one_system ON resource_servers (is_system);
CREATE INDEX resource_servers_by_creation ON resource_servers (created_at, id);

CREATE TABLE client_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    resource_server_id TEXT NOT NULL REFERENCES resource_servers (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (client_id, resource_server_id)
);
CREATE INDEX client_grants_by_resource_server ON client_grants (resource_server_id);
