-- Federated workload credentials (a signet extension, BEHAVIOUR B.13): the application trusts
-- tokens a workload platform issues. Such a row has credential_type 'federated' and its rule
-- (issuer, subject, pinned claims, audience, key source, lifetime cap, replay mode) as JSON in
-- federation; its kid is the credential id and its thumbprint 'federated:' plus the SHA-256 of
-- what the rule trusts, which keeps one trust once per application; alg and public_key are
-- empty. An explicit jwks_uri of the rule is also in jwks_uri, like a jwks_uri credential's.
ALTER TABLE credentials ADD COLUMN federation TEXT;
