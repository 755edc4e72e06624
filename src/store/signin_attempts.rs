//! The `signin_attempts` table: dashboard sign-in attempts per email, known or not, and the
//! lockout they lead to. Counting an attempt and deciding whether it may go on is one
//! statement, so concurrent attempts cannot slip past the limit between a read and a write.

use sqlx::Row;

use super::{Conn, StoreError};
use crate::time_util::Millis;

/// One counted attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The password may be checked; this is the `n`th attempt since the last success or lock.
    Counted(i64),
    /// Sign-ins for the email are locked until then.
    Locked(Millis),
}

/// Counts one attempt for `email` at `now` and says whether its password may be checked. The
/// attempt after `max_attempts` unsuccessful ones locks the email for `lockout` ms (unless
/// [`lock`] did at the last failure); once a lock has passed, counting starts again.
pub async fn begin(
    conn: &mut Conn,
    email: &str,
    now: Millis,
    max_attempts: i64,
    lockout: Millis,
) -> Result<Attempt, StoreError> {
    let row = sqlx::query(
        "INSERT INTO signin_attempts (email, attempts, locked_until, updated_at) \
         VALUES ($1, 1, NULL, $2) \
         ON CONFLICT (email) DO UPDATE SET \
           attempts = CASE \
             WHEN signin_attempts.locked_until > $2 THEN signin_attempts.attempts \
             WHEN signin_attempts.locked_until IS NOT NULL THEN 1 \
             ELSE signin_attempts.attempts + 1 END, \
           locked_until = CASE \
             WHEN signin_attempts.locked_until > $2 THEN signin_attempts.locked_until \
             WHEN signin_attempts.locked_until IS NULL AND signin_attempts.attempts >= $3 \
               THEN $4 \
             ELSE NULL END, \
           updated_at = $2 \
         RETURNING attempts, locked_until",
    )
    .bind(email)
    .bind(now)
    .bind(max_attempts)
    .bind(now + lockout)
    .fetch_one(&mut *conn)
    .await?;
    Ok(match row.try_get::<Option<Millis>, _>("locked_until")? {
        Some(until) => Attempt::Locked(until),
        None => Attempt::Counted(row.try_get("attempts")?),
    })
}

/// Locks the email until `until` (the last allowed attempt failed), unless it is locked.
pub async fn lock(conn: &mut Conn, email: &str, until: Millis) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE signin_attempts SET locked_until = $2 WHERE email = $1 AND locked_until IS NULL",
    )
    .bind(email)
    .bind(until)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A successful sign-in (or a password set by the operator) starts counting afresh.
pub async fn clear(conn: &mut Conn, email: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM signin_attempts WHERE email = $1")
        .bind(email)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes up to `batch` unlocked counts untouched since `before`.
pub async fn prune(conn: &mut Conn, before: Millis, batch: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM signin_attempts WHERE email IN (SELECT email FROM signin_attempts \
         WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until < $1) LIMIT $2)",
    )
    .bind(before)
    .bind(batch)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;
    const LOCK: Millis = 300_000;

    #[tokio::test]
    async fn the_attempt_after_the_limit_locks_and_the_lock_passes() {
        let (store, _dir) = crate::store::temp_sqlite().await;
        let mut conn = store.acquire().await.unwrap();
        for i in 0..5 {
            assert_eq!(
                begin(&mut conn, "a@x", NOW + i, 5, LOCK).await.unwrap(),
                Attempt::Counted(i + 1)
            );
        }
        let locked = begin(&mut conn, "a@x", NOW + 5, 5, LOCK).await.unwrap();
        assert_eq!(locked, Attempt::Locked(NOW + 5 + LOCK));
        // Locked attempts do not extend the lock.
        assert_eq!(
            begin(&mut conn, "a@x", NOW + 100, 5, LOCK).await.unwrap(),
            Attempt::Locked(NOW + 5 + LOCK)
        );
        // Other emails are counted apart, known or not.
        assert_eq!(
            begin(&mut conn, "b@x", NOW, 5, LOCK).await.unwrap(),
            Attempt::Counted(1)
        );
        // After the lock, five more attempts; a lock set at the fifth holds the sixth.
        let later = NOW + 5 + LOCK;
        for i in 0..5 {
            assert_eq!(
                begin(&mut conn, "a@x", later + i, 5, LOCK).await.unwrap(),
                Attempt::Counted(i + 1)
            );
        }
        lock(&mut conn, "a@x", later + 4 + LOCK).await.unwrap();
        assert_eq!(
            begin(&mut conn, "a@x", later + 5, 5, LOCK).await.unwrap(),
            Attempt::Locked(later + 4 + LOCK)
        );
        clear(&mut conn, "a@x").await.unwrap();
        assert_eq!(
            begin(&mut conn, "a@x", later + 6, 5, LOCK).await.unwrap(),
            Attempt::Counted(1)
        );
    }
}
