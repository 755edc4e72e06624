//! Administrators: ensured at start from the settings, signing in (with lockout), sessions.

use super::{DashboardError, csrf, lockout, password, session};
use crate::crypto::secret::Secret;
use crate::store::signin_attempts::Attempt;
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

/// Each Argon2 run holds 19 MiB and a core for tens of milliseconds: at most this many run at
/// once, each on a blocking thread, never while holding a database connection.
const HASHING_AT_ONCE: usize = 2;
/// Sign-ins waiting for a turn beyond this are turned away at once ...
const MAX_WAITING: usize = 32;
/// ... and none waits longer than this.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The turns at Argon2 of one server (BEHAVIOUR C.6): a bounded number at once, a bounded,
/// time-limited queue for the rest.
#[derive(Debug)]
pub struct Hashing {
    turns: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
}

impl Default for Hashing {
    fn default() -> Self {
        Self {
            turns: tokio::sync::Semaphore::new(HASHING_AT_ONCE),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

impl Hashing {
    /// Runs `work` (an Argon2 hash or check) when a turn is free; `None` when the queue is full
    /// or the wait too long.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let turn = tokio::time::timeout(MAX_WAIT, self.turns.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let _turn = turn.ok()?.ok()?;
        tokio::task::spawn_blocking(work).await.ok()
    }

    async fn hash(&self, password: Secret) -> Result<String, DashboardError> {
        self.run(move || password::hash(password.expose()))
            .await
            .ok_or_else(|| DashboardError::Hashing("no hashing turn became free".into()))?
            .map_err(DashboardError::Hashing)
    }

    /// `None` when no turn was free (the caller answers "busy"), else whether it matched.
    async fn verify(&self, password: Secret, phc: String) -> Option<bool> {
        self.run(move || password::verify(password.expose(), &phc))
            .await
    }
}

/// With a configured password: that administrator exists with exactly that password. Without:
/// the administrator is created with a generated password on first start (returned, to print
/// once) and left alone afterwards. Safe when several servers start at once.
pub async fn ensure(
    store: &Store,
    hashing: &Hashing,
    email: &str,
    configured: Option<&Secret>,
    now: Millis,
) -> Result<Option<CreatedAdmin>, DashboardError> {
    validate_email(email).map_err(DashboardError::Config)?;
    match configured {
        Some(wanted) => {
            password::validate(wanted.expose()).map_err(DashboardError::Config)?;
            let existing = {
                let mut conn = store.acquire().await?;
                // The operator's password is authoritative: a restart with it lifts a lockout.
                store::signin_attempts::clear(&mut conn, &lockout::email_key(email)).await?;
                store::admins::get(&mut conn, email).await?
            };
            if let Some(row) = existing
                && hashing.verify(wanted.clone(), row.password_hash).await == Some(true)
            {
                return Ok(None);
            }
            let phc = hashing.hash(wanted.clone()).await?;
            let mut conn = store.acquire().await?;
            store::admins::set_password(&mut conn, email, &phc, now).await?;
            // A new password ends every session opened with the old one.
            store::admin_sessions::delete_for(&mut conn, email).await?;
            Ok(None)
        }
        None => {
            if store::admins::get(&mut *store.acquire().await?, email)
                .await?
                .is_some()
            {
                return Ok(None);
            }
            let generated = password::generate();
            let phc = hashing.hash(generated.clone()).await?;
            let created =
                store::admins::insert_if_absent(&mut *store.acquire().await?, email, &phc, now)
                    .await?;
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
    #[error("Too many failed sign-ins for this account. Try again in {}.", crate::time_util::count_of((.retry_after_secs + 59) / 60, "minute"))]
    Locked { retry_after_secs: i64 },
    #[error("Too many sign-ins are being checked right now. Try again in a few seconds.")]
    Busy,
    #[error(transparent)]
    Dashboard(#[from] DashboardError),
}

impl From<StoreError> for LoginError {
    fn from(e: StoreError) -> Self {
        Self::Dashboard(e.into())
    }
}

/// A new session: the token goes in the cookie and nowhere else.
pub struct NewSession {
    pub token: Secret,
    pub expires_at: Millis,
}

/// Counts the attempt (refusing it if the email is locked), checks the password, and opens a
/// session. Unknown emails go through the same steps against a decoy hash, so neither the
/// answer nor its timing tells which emails exist.
pub async fn login(
    store: &Store,
    hashing: &Hashing,
    email: &str,
    password_given: &Secret,
    now: Millis,
) -> Result<NewSession, LoginError> {
    let email = email.trim();
    let key = lockout::email_key(email);
    // Each database step takes a connection for one statement or two and gives it back: the
    // slow part, Argon2, runs holding none.
    let (attempt, row) = {
        let mut conn = store.acquire().await?;
        let attempt = store::signin_attempts::begin(
            &mut conn,
            &key,
            now,
            lockout::MAX_ATTEMPTS,
            lockout::LOCKOUT,
        )
        .await?;
        let row = match attempt {
            Attempt::Locked(_) => None,
            Attempt::Counted(_) => store::admins::get(&mut conn, email).await?,
        };
        (attempt, row)
    };
    let number = match attempt {
        Attempt::Locked(until) => {
            return Err(LoginError::Locked {
                retry_after_secs: lockout::seconds_left(until, now),
            });
        }
        Attempt::Counted(n) => n,
    };
    let (phc, known) = match row {
        Some(row) => (row.password_hash, Some(row.email)),
        None => (password::decoy_hash().to_owned(), None),
    };
    let matched = hashing
        .verify(password_given.clone(), phc)
        .await
        .ok_or(LoginError::Busy)?;
    let Some(admin_email) = known.filter(|_| matched) else {
        if number >= lockout::MAX_ATTEMPTS {
            // The last allowed attempt failed: the lock starts now, and this answer says so.
            let mut conn = store.acquire().await?;
            store::signin_attempts::lock(&mut conn, &key, now + lockout::LOCKOUT).await?;
            tracing::warn!("dashboard sign-in locked after repeated failures");
            return Err(LoginError::Locked {
                retry_after_secs: lockout::LOCKOUT / 1000,
            });
        }
        return Err(LoginError::BadCredentials);
    };
    let mut conn = store.acquire().await?;
    store::signin_attempts::clear(&mut conn, &key).await?;
    // Expired sessions and stale attempt counts go on each sign-in, a few at a time: the
    // tables stay small without a background task.
    store::admin_sessions::prune(&mut conn, now, 100).await?;
    store::signin_attempts::prune(&mut conn, now - 86_400_000, 100).await?;
    let token = session::new_token();
    let expires_at = session::expires_at(now);
    store::admin_sessions::insert(
        &mut conn,
        &session::token_hash(token.expose()),
        &admin_email,
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
) -> Result<Option<AdminSession>, DashboardError> {
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

pub async fn logout(store: &Store, session: &AdminSession) -> Result<(), DashboardError> {
    let mut conn = store.acquire().await?;
    Ok(store::admin_sessions::delete(&mut conn, &session.token_hash).await?)
}
