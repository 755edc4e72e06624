//! The lifecycle of the tenant's access-token signing keys (BEHAVIOUR A.10): which state a key
//! is in, which transitions are allowed, and how long a revocation waits so that no instance
//! can still be signing with the key it revokes.

use std::time::Duration;

use crate::time_util::Millis;

/// Where a key stands. Exactly one key is current and one is next at any time; a key moves
/// next → current → previous → revoked, never back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Signs every RS256 and PS256 access token.
    Current,
    /// Published, so verifiers know it before it signs; becomes current at the next rotation.
    Next,
    /// Was current; still published so the tokens it signed keep verifying.
    Previous,
    /// Gone from the JWKS for good; its private half is wiped.
    Revoked,
}

/// A signing key as the Management API and the dashboard show it.
#[derive(Debug, Clone)]
pub struct SigningKeyInfo {
    pub kid: String,
    pub state: KeyState,
    pub cert_pem: String,
    pub current_since: Option<Millis>,
    pub current_until: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// Why a revocation is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RevokeRefused {
    #[error(
        "The current signing key cannot be revoked. Rotate the signing key first; the current key then becomes the previous key and can be revoked."
    )]
    Current,
    #[error(
        "The next signing key cannot be revoked: it has not signed anything yet, and it becomes the current key at the next rotation."
    )]
    Next,
}

/// What revoking a key in `state` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// Revoke it now.
    Revoke,
    /// It is already revoked: nothing changes (a repeated revocation succeeds).
    AlreadyRevoked,
}

pub fn revocation(state: KeyState) -> Result<Revocation, RevokeRefused> {
    match state {
        KeyState::Current => Err(RevokeRefused::Current),
        KeyState::Next => Err(RevokeRefused::Next),
        KeyState::Previous => Ok(Revocation::Revoke),
        KeyState::Revoked => Ok(Revocation::AlreadyRevoked),
    }
}

/// How stale an instance's view of the keys may be when it signs: past this since its last
/// successful read of the shared change counter, it reads the keys again before signing.
pub const KEY_VIEW_MAX_AGE: Duration = Duration::from_secs(2);

/// How long after a key stopped being current it may be revoked without waiting: the longest
/// any instance can go on signing with it (its view's age bound, with room for one poll, the
/// time between reading the view and signing, and clocks a second apart).
pub const REVOKE_SETTLE: Duration = Duration::from_secs(4);

/// How long a revocation at `now` must wait before it takes effect: until [`REVOKE_SETTLE`]
/// has passed since the key stopped being current, so that a rotation followed at once by a
/// revocation ("rotate & revoke") cannot race another instance that has not yet seen the
/// rotation.
pub fn revoke_wait(current_until: Option<Millis>, now: Millis) -> Duration {
    let Some(until) = current_until else {
        return Duration::ZERO;
    };
    let settled = until + REVOKE_SETTLE.as_millis() as Millis;
    Duration::from_millis(u64::try_from(settled - now).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_previous_keys_are_revoked_and_a_second_revocation_changes_nothing() {
        assert_eq!(revocation(KeyState::Current), Err(RevokeRefused::Current));
        assert_eq!(revocation(KeyState::Next), Err(RevokeRefused::Next));
        assert_eq!(revocation(KeyState::Previous), Ok(Revocation::Revoke));
        assert_eq!(
            revocation(KeyState::Revoked),
            Ok(Revocation::AlreadyRevoked)
        );
    }

    #[test]
    fn a_revocation_right_after_a_rotation_waits_out_the_settle_time() {
        let settle = REVOKE_SETTLE.as_millis() as Millis;
        assert_eq!(revoke_wait(Some(10_000), 10_000), REVOKE_SETTLE);
        assert_eq!(
            revoke_wait(Some(10_000), 10_000 + settle - 1),
            Duration::from_millis(1)
        );
        assert_eq!(revoke_wait(Some(10_000), 10_000 + settle), Duration::ZERO);
        assert_eq!(revoke_wait(Some(10_000), 99_000), Duration::ZERO);
        assert_eq!(revoke_wait(None, 0), Duration::ZERO);
    }
}
