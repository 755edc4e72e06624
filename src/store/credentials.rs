//! The `credentials` table: an application's public keys (or the URLs where it publishes
//! them) and which of them are associated (enabled for Private Key JWT).

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Conn, StoreError, conflict_on_unique, corrupt, sql};
use crate::domain::credential::{
    AssertionAlg, CREDENTIAL_TYPE, Credential, CredentialKey, FEDERATED_TYPE, JWKS_URI_TYPE,
    UploadedKey,
};
use crate::time_util::Millis;

const COLUMNS: &str = "id, client_id, name, credential_type, kid, alg, public_key, thumbprint, \
    jwks_uri, federation, expires_at, associated, created_at, updated_at, last_used_at";

fn from_row(r: &AnyRow) -> Result<Credential, StoreError> {
    let id: String = r.try_get("id")?;
    let credential_type: String = r.try_get("credential_type")?;
    let key = match credential_type.as_str() {
        CREDENTIAL_TYPE => {
            let alg: String = r.try_get("alg")?;
            CredentialKey::Uploaded(UploadedKey {
                kid: r.try_get("kid")?,
                alg: AssertionAlg::parse(&alg).ok_or_else(|| corrupt("credential alg", &alg))?,
                public_key: STANDARD
                    .decode(r.try_get::<String, _>("public_key")?)
                    .map_err(|e| corrupt("credential public key", e))?,
                thumbprint: r.try_get("thumbprint")?,
            })
        }
        JWKS_URI_TYPE => CredentialKey::JwksUri(
            r.try_get::<Option<String>, _>("jwks_uri")?
                .ok_or_else(|| corrupt("credential jwks_uri", &id))?,
        ),
        FEDERATED_TYPE => {
            let text: String = r
                .try_get::<Option<String>, _>("federation")?
                .ok_or_else(|| corrupt("federated credential rule", &id))?;
            CredentialKey::Federated(Box::new(
                serde_json::from_str(&text).map_err(|e| corrupt("federated credential rule", e))?,
            ))
        }
        other => return Err(corrupt("credential type", other)),
    };
    Ok(Credential {
        id,
        client_id: r.try_get("client_id")?,
        name: r.try_get("name")?,
        key,
        expires_at: r.try_get("expires_at")?,
        associated: r.try_get::<i64, _>("associated")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

/// The columns a key row fills.
struct KeyColumns<'a> {
    kid: String,
    alg: &'static str,
    public_key: String,
    thumbprint: String,
    jwks_uri: Option<&'a str>,
    federation: Option<String>,
}

/// What a `jwks_uri` or `federated` row fills so that the table's unique constraints still
/// mean one kid and one key source per application: the kid is the credential's own id, the
/// "thumbprint" the digest of the URL or of what the rule trusts.
fn key_columns(c: &Credential) -> Result<KeyColumns<'_>, StoreError> {
    let digest_of = |kind: &str, text: &str| {
        format!(
            "{kind}:{}",
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, text.as_bytes()))
        )
    };
    Ok(match &c.key {
        CredentialKey::Uploaded(k) => KeyColumns {
            kid: k.kid.clone(),
            alg: k.alg.as_str(),
            public_key: STANDARD.encode(&k.public_key),
            thumbprint: k.thumbprint.clone(),
            jwks_uri: None,
            federation: None,
        },
        CredentialKey::JwksUri(uri) => KeyColumns {
            kid: c.id.clone(),
            alg: "",
            public_key: String::new(),
            thumbprint: digest_of(JWKS_URI_TYPE, uri),
            jwks_uri: Some(uri),
            federation: None,
        },
        CredentialKey::Federated(rule) => KeyColumns {
            kid: c.id.clone(),
            alg: "",
            public_key: String::new(),
            thumbprint: digest_of(FEDERATED_TYPE, &rule.identity()),
            jwks_uri: match &rule.keys {
                crate::domain::federated::FederatedKeys::JwksUri(uri) => Some(uri),
                _ => None,
            },
            federation: Some(
                serde_json::to_string(rule).map_err(|e| corrupt("federated credential rule", e))?,
            ),
        },
    })
}

pub async fn insert(conn: &mut Conn, c: &Credential) -> Result<(), StoreError> {
    let KeyColumns {
        kid,
        alg,
        public_key,
        thumbprint,
        jwks_uri,
        federation,
    } = key_columns(c)?;
    sqlx::query(sql(format!(
        "INSERT INTO credentials ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    )))
    .bind(&c.id)
    .bind(&c.client_id)
    .bind(&c.name)
    .bind(c.key.credential_type())
    .bind(kid)
    .bind(alg)
    .bind(public_key)
    .bind(thumbprint)
    .bind(jwks_uri)
    .bind(federation)
    .bind(c.expires_at)
    .bind(i64::from(c.associated))
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(c.last_used_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        conflict_on_unique(e, || {
            "This public key, kid, jwks_uri or federated trust is already registered for this application".into()
        })
    })?;
    Ok(())
}

pub async fn list(conn: &mut Conn, client_id: &str) -> Result<Vec<Credential>, StoreError> {
    let rows = sqlx::query(sql(format!(
        "SELECT {COLUMNS} FROM credentials WHERE client_id = $1 ORDER BY created_at, id"
    )))
    .bind(client_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(
    conn: &mut Conn,
    client_id: &str,
    id: &str,
) -> Result<Option<Credential>, StoreError> {
    let row = sqlx::query(sql(format!(
        "SELECT {COLUMNS} FROM credentials WHERE client_id = $1 AND id = $2"
    )))
    .bind(client_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Ids of the client's associated credentials, oldest first, and those of them that are
/// federated credentials.
pub async fn associated_ids(
    conn: &mut Conn,
    client_id: &str,
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let rows = sqlx::query(
        "SELECT id, credential_type FROM credentials WHERE client_id = $1 AND associated = 1 \
         ORDER BY created_at, id",
    )
    .bind(client_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut all = Vec::with_capacity(rows.len());
    let mut federated = Vec::new();
    for r in &rows {
        let id: String = r.try_get("id")?;
        if r.try_get::<String, _>("credential_type")? == FEDERATED_TYPE {
            federated.push(id.clone());
        }
        all.push(id);
    }
    Ok((all, federated))
}

/// Makes exactly `ids` the client's associated credentials.
pub async fn set_associated(
    conn: &mut Conn,
    client_id: &str,
    ids: &[String],
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE credentials SET associated = 0, updated_at = $2 WHERE client_id = $1 AND associated = 1",
    )
    .bind(client_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    for id in ids {
        sqlx::query(
            "UPDATE credentials SET associated = 1, updated_at = $3 WHERE client_id = $1 AND id = $2",
        )
        .bind(client_id)
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn set_expires_at(
    conn: &mut Conn,
    client_id: &str,
    id: &str,
    expires_at: Option<Millis>,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE credentials SET expires_at = $3, updated_at = $4 WHERE client_id = $1 AND id = $2",
    )
    .bind(client_id)
    .bind(id)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(conn: &mut Conn, client_id: &str, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM credentials WHERE client_id = $1 AND id = $2")
        .bind(client_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records when a credential last authenticated. Not a change of tenant data: caches stay valid.
pub async fn set_last_used(pool: &sqlx::AnyPool, id: &str, at: Millis) -> Result<(), StoreError> {
    sqlx::query("UPDATE credentials SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)")
        .bind(id)
        .bind(at)
        .execute(pool)
        .await?;
    Ok(())
}
