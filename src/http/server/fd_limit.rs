//! The open-files limit: every connection is a file descriptor, and when they run out the
//! server can no longer accept, open its database or read its files. The soft limit is raised
//! to the hard one at start, and the connection cap kept below it.

/// Descriptors kept for everything that is not a client connection: the database pool (up
/// to 16 sockets, or 8 SQLite connections with three files each), the key file, standard
/// streams, the runtime's own, outbound requests for keys, and the socket accepted only to be
/// closed when the cap is reached.
const RESERVED: usize = 128;

/// Raises the soft RLIMIT_NOFILE to the hard limit and returns the soft limit in force, or
/// `None` where there is no such limit (or it cannot be read).
#[cfg(unix)]
pub fn raise_open_files_limit() -> Option<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given, which lives for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct it is given. It fails where the hard limit
        // is "unlimited" but the kernel caps descriptors lower (macOS); the soft limit stays.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    if limit.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    Some(usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
}

#[cfg(not(unix))]
pub fn raise_open_files_limit() -> Option<usize> {
    None
}

/// The connection cap in force: the one asked for, but never so high that connections could
/// take the descriptors the rest of the server needs.
pub fn connection_ceiling(wanted: usize, open_files: Option<usize>) -> usize {
    let Some(open_files) = open_files else {
        return wanted;
    };
    let for_connections = open_files.saturating_sub(RESERVED).max(open_files / 2);
    wanted.min(for_connections).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_asked_for_holds_when_descriptors_are_plenty() {
        assert_eq!(connection_ceiling(10_000, Some(1_048_576)), 10_000);
        assert_eq!(connection_ceiling(10_000, None), 10_000);
    }

    #[test]
    fn the_cap_leaves_a_reserve_under_a_low_open_files_limit() {
        assert_eq!(connection_ceiling(10_000, Some(1024)), 1024 - RESERVED);
    }

    #[test]
    fn a_tiny_open_files_limit_still_leaves_half_for_connections() {
        assert_eq!(connection_ceiling(10_000, Some(100)), 50);
        assert_eq!(connection_ceiling(10_000, Some(1)), 1);
    }

    #[cfg(unix)]
    #[test]
    fn the_soft_open_files_limit_is_raised_to_the_hard_one() {
        let soft = raise_open_files_limit();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        if limit.rlim_max != libc::RLIM_INFINITY {
            assert_eq!(limit.rlim_cur, limit.rlim_max);
            assert_eq!(soft, usize::try_from(limit.rlim_max).ok());
        }
    }
}
