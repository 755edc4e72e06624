//! Administrators: ensured at start from the settings, signing in (with lockout), sessions.

use super::{DashboardError, csrf, lockout, password, session};
use crate::crypto::secret::Secret;
use crate::store::{self, Store, StoreError};
use crate::time_util::Millis;

pub const DEFAULT_EMAIL: &str = "admin@localhost";

/// An administrator this start created with a generated password (to print once).
pub struct CreatedAdmin {
    pub email: String,
    pub password: Secret,
}

pub fn validate_email(email: &str) -> Result<(), String> {
    let ok = !email.is_empty()
        && email.len() <= 254
        && email.contains('@')
        && !email.starts_with('@')
        && !email.ends_with('@')
        && email.chars().all(|c| !c.is_whitespace() && !c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!("{email:?} is not an email address"))
    }
}

/// Each Argon2 run holds 19 MiB for tens of milliseconds: a flood of sign-in attempts waits its
/// turn here instead of exhausting memory and the blocking pool.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Argon2 is deliberately slow: it runs off the async workers.
async fn hash_blocking(password: String) -> Result<String, DashboardError> {
    let _turn = HASHING
        .acquire()
        .await
        .map_err(|e| DashboardError::Hashing(e.to_string()))?;
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| DashboardError::Hashing(e.to_string()))?
        .map_err(DashboardError::Hashing)
}

async fn verify_blocking(password: String, phc: String) -> bool {
    let Ok(_turn) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || password::verify(&password, &phc))
        .await
        .unwrap_or(false)
}

/// With a configured password: that administrator exists with exactly that password. Without:
/// the administrator is created with a generated password on first start (returned, to print
/// once) and left alone afterwards. Safe when several servers start at once.
pub async fn ensure(
    store: &Store,
    email: &str,
    configured: Option<&Secret>,
    now: Millis,
) -> Result<Option<CreatedAdmin>, DashboardError> {
    validate_email(email).map_err(DashboardError::Config)?;
    let mut conn = store.acquire().await?;
    match configured {
        Some(wanted) => {
            password::validate(wanted.expose()).map_err(DashboardError::Config)?;
            if let Some(row) = store::admins::get(&mut conn, email).await?
                && verify_blocking(wanted.expose().to_owned(), row.password_hash).await
            {
                return Ok(None);
            }
            let phc = hash_blocking(wanted.expose().to_owned()).await?;
            store::admins::set_password(&mut conn, email, &phc, now).await?;
            // A new password ends every session opened with the old one.
            store::admin_sessions::delete_for(&mut conn, email).await?;
            Ok(None)
        }
        None => {
            if store::admins::get(&mut conn, email).await?.is_some() {
                return Ok(None);
            }
            let generated = password::generate();
            let phc = hash_blocking(generated.expose().to_owned()).await?;
            let created = store::admins::insert_if_absent(&mut conn, email, &phc, now).await?;
            Ok(created.then(|| CreatedAdmin {
                email: email.to_owned(),
                password: generated,
            }))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("The email or password is not correct.")]
    BadCredentials,
    #[error("Too many failed sign-ins for this account. Try again in {} minute(s).", (.retry_after_secs + 59) / 60)]
    Locked { retry_after_secs: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new session: the token goes in the cookie and nowhere else.
pub struct NewSession {
    pub token: Secret,
    pub expires_at: Millis,
}

/// Checks the password (unless the account is locked), counts failures, and opens a session.
pub async fn login(
    store: &Store,
    email: &str,
    password_given: &str,
    now: Millis,
) -> Result<NewSession, LoginError> {
    let mut conn = store.acquire().await?;
    let row = store::admins::get(&mut conn, email.trim()).await?;
    let Some(row) = row else {
        // Same work as for a real account, so timing does not tell which emails exist.
        verify_blocking(password_given.to_owned(), password::decoy_hash().to_owned()).await;
        return Err(LoginError::BadCredentials);
    };
    if let Some(retry_after_secs) = lockout::locked_for(row.locked_until, now) {
        return Err(LoginError::Locked { retry_after_secs });
    }
    if !verify_blocking(password_given.to_owned(), row.password_hash).await {
        let failures = store::admins::count_failure(&mut conn, &row.email).await?;
        if let Some(until) = lockout::lock_after_failure(failures, now) {
            store::admins::lock(&mut conn, &row.email, until).await?;
            tracing::warn!("dashboard sign-in locked after repeated failures");
            return Err(LoginError::Locked {
                retry_after_secs: lockout::LOCKOUT / 1000,
            });
        }
        return Err(LoginError::BadCredentials);
    }
    if row.failed_logins != 0 || row.locked_until.is_some() {
        store::admins::clear_failures(&mut conn, &row.email).await?;
    }
    // Expired sessions go on each sign-in, a few at a time: the table stays small without a
    // background task.
    store::admin_sessions::prune(&mut conn, now, 100).await?;
    let token = session::new_token();
    let expires_at = session::expires_at(now);
    store::admin_sessions::insert(
        &mut conn,
        &session::token_hash(token.expose()),
        &row.email,
        now,
        expires_at,
    )
    .await?;
    Ok(NewSession { token, expires_at })
}

/// A signed-in administrator, as each dashboard request sees it.
#[derive(Debug, Clone)]
pub struct AdminSession {
    pub email: String,
    pub csrf_token: String,
    token_hash: String,
}

impl AdminSession {
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        csrf::matches(&self.csrf_token, submitted)
    }
}

/// The session a cookie token names, if it exists and has not expired.
pub async fn authenticate(
    store: &Store,
    token: &str,
    now: Millis,
) -> Result<Option<AdminSession>, StoreError> {
    if !session::plausible_token(token) {
        return Ok(None);
    }
    let wanted = session::token_hash(token);
    let mut conn = store.acquire().await?;
    let Some(row) = store::admin_sessions::get(&mut conn, &wanted).await? else {
        return Ok(None);
    };
    // The row was found through an index on the hash; the comparison of the hash itself is
    // still constant-time.
    if !csrf::matches(&row.token_hash, &wanted) || !session::is_active(row.expires_at, now) {
        return Ok(None);
    }
    Ok(Some(AdminSession {
        email: row.email,
        csrf_token: csrf::token_for_session(token),
        token_hash: row.token_hash,
    }))
}

pub async fn logout(store: &Store, session: &AdminSession) -> Result<(), StoreError> {
    let mut conn = store.acquire().await?;
    store::admin_sessions::delete(&mut conn, &session.token_hash).await
}
