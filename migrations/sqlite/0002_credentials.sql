-- Private Key JWT credentials: an application's RSA public keys (SPEC A.1).
-- The key is kept as PKCS#1 DER (base64), the form the verifier takes: no PEM on the token path.

CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    credential_type TEXT NOT NULL,
    kid TEXT NOT NULL,
    alg TEXT NOT NULL,
    public_key TEXT NOT NULL,           -- base64 of the PKCS#1 RSAPublicKey DER
    thumbprint TEXT NOT NULL,           -- RFC 7638; the same key twice on one client is refused
    expires_at BIGINT,                  -- NULL: never expires
    associated BIGINT NOT NULL,         -- 1 while listed in client_authentication_methods
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (client_id, thumbprint),
    UNIQUE (client_id, kid)
);
CREATE INDEX credentials_by_client ON credentials (client_id, created_at);
