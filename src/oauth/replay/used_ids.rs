//! The used ids a server keeps in memory on SQLite (BEHAVIOUR B.6): a 64-bit keyed digest of
//! each `(client_id, jti)`, in groups by the time it may be forgotten. A group is dropped whole
//! once that time has passed, so forgetting costs nothing per id, and ids are used in about the
//! order they may be forgotten, so only the newest group grows.

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use crate::time_util::Millis;

/// The span of forget times one group covers: with ids kept about 320 s, about 17 groups, each
/// probed once per lookup.
const GROUP_MS: Millis = 20_000;

pub struct UsedIds {
    /// Keyed with a secret drawn at start: nobody outside can choose ids whose digests collide.
    /// Two distinct ids collide by chance with odds of about one in 2^64 / (ids kept), so about
    /// one in 10^13 with a million ids kept.
    digests: RandomState,
    groups: BTreeMap<Millis, HashSet<u64, BuildHasherDefault<Prehashed>>>,
}

impl Default for UsedIds {
    fn default() -> Self {
        Self {
            digests: RandomState::new(),
            groups: BTreeMap::new(),
        }
    }
}

impl UsedIds {
    pub fn digest(&self, client_id: &str, jti: &str) -> u64 {
        self.digests.hash_one((client_id, jti))
    }

    pub fn contains(&self, digest: u64) -> bool {
        self.groups.values().any(|group| group.contains(&digest))
    }

    /// Remembers `digest` at least through the millisecond `keep_through`.
    pub fn insert(&mut self, digest: u64, keep_through: Millis) {
        self.groups
            .entry(keep_through.div_euclid(GROUP_MS))
            .or_default()
            .insert(digest);
    }

    /// Drops every group whose ids all had to be remembered only before `now`.
    pub fn forget_before(&mut self, now: Millis) {
        while let Some(group) = self.groups.first_entry() {
            if group.key().saturating_add(1).saturating_mul(GROUP_MS) > now {
                break;
            }
            group.remove();
        }
    }

    pub fn len(&self) -> usize {
        self.groups.values().map(HashSet::len).sum()
    }
}

/// Digests are already uniform and keyed: hashing them again would only cost a SipHash per
/// group probed.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed here (`write_u64`); anything else still spreads.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_remembered_through_its_last_millisecond_and_then_forgotten() {
        let mut ids = UsedIds::default();
        let keep_through = 1_800_000_012_345;
        let used = ids.digest("c", "j");
        ids.insert(used, keep_through);
        assert!(ids.contains(used));
        for now in [keep_through - 60_000, keep_through - 1, keep_through] {
            ids.forget_before(now);
            assert!(ids.contains(used), "forgotten at {now}");
        }
        // Its group ends at the next multiple of GROUP_MS: kept at most that much longer.
        let group_end = (keep_through / GROUP_MS + 1) * GROUP_MS;
        ids.forget_before(group_end - 1);
        assert!(ids.contains(used));
        ids.forget_before(group_end);
        assert!(!ids.contains(used));
        assert_eq!(ids.len(), 0);
    }

    #[test]
    fn ids_are_told_apart_by_client_and_jti_and_kept_across_groups() {
        let mut ids = UsedIds::default();
        let now = 1_800_000_000_000;
        let ab = ids.digest("a", "b");
        ids.insert(ab, now);
        let later = ids.digest("c", "d");
        ids.insert(later, now + 300_000);
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(ids.digest("a", "b")));
        assert!(ids.contains(ids.digest("c", "d")));
        // No ambiguity where one string ends and the next begins.
        assert!(!ids.contains(ids.digest("ab", "")));
        assert!(!ids.contains(ids.digest("a", "B")));
        assert!(!ids.contains(ids.digest("b", "a")));
        ids.forget_before(now + GROUP_MS + 1);
        assert!(!ids.contains(ab));
        assert!(ids.contains(later));
    }

    #[test]
    fn digests_are_keyed_per_server() {
        let (one, two) = (UsedIds::default(), UsedIds::default());
        assert_ne!(one.digest("c", "j"), two.digest("c", "j"));
    }
}
