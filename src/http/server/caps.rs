//! Connection caps: how many connections may be open at once, in all and from one source. A
//! connection holds a [`Slot`] for its lifetime; the slot frees its place when dropped.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// Where connections are counted together: one IPv4 address, or one IPv6 /64 (the smallest
/// prefix a site is given, so one host can hold any number of addresses in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    V4([u8; 4]),
    V6Prefix64([u8; 8]),
}

impl Source {
    pub fn of(ip: IpAddr) -> Self {
        // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; they are IPv4 clients.
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let mut prefix = [0; 8];
                prefix.copy_from_slice(&v6.octets()[..8]);
                Self::V6Prefix64(prefix)
            }
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(octets) => write!(f, "{}", IpAddr::from(*octets)),
            Self::V6Prefix64(prefix) => {
                let mut octets = [0; 16];
                octets[..8].copy_from_slice(prefix);
                write!(f, "{}/64", Ipv6Addr::from(octets))
            }
        }
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Total,
    PerSource(Source),
}

pub struct ConnectionCaps {
    max_total: usize,
    max_per_source: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    per_source: HashMap<Source, usize>,
}

impl ConnectionCaps {
    pub fn new(max_total: usize, max_per_source: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_source,
            open: Mutex::new(Open::default()),
        })
    }

    /// A place for a connection from `ip`, or why there is none.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let source = Source::of(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(Refusal::Total);
        }
        let from_source = open.per_source.entry(source).or_default();
        if *from_source >= self.max_per_source {
            return Err(Refusal::PerSource(source));
        }
        *from_source += 1;
        open.total += 1;
        Ok(Slot {
            caps: Arc::clone(self),
            source,
        })
    }

    pub fn open_connections(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    fn release(&self, source: Source) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        // Entries go with their last connection, so a scan from many addresses leaves no trace.
        if let Some(n) = open.per_source.get_mut(&source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.per_source.remove(&source);
            }
        }
    }
}

/// One connection's place under the caps.
pub struct Slot {
    caps: Arc<ConnectionCaps>,
    source: Source,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.caps.release(self.source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_source_over_its_cap_is_refused_while_others_are_admitted() {
        let caps = ConnectionCaps::new(100, 2);
        let _a = caps.admit(ip("192.0.2.1")).unwrap();
        let _b = caps.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(
            caps.admit(ip("192.0.2.1")).err(),
            Some(Refusal::PerSource(Source::of(ip("192.0.2.1"))))
        );
        assert!(caps.admit(ip("192.0.2.2")).is_ok());
    }

    #[test]
    fn connections_over_the_total_cap_are_refused_whatever_their_source() {
        let caps = ConnectionCaps::new(2, 10);
        let _a = caps.admit(ip("192.0.2.1")).unwrap();
        let _b = caps.admit(ip("192.0.2.2")).unwrap();
        assert_eq!(caps.admit(ip("192.0.2.3")).err(), Some(Refusal::Total));
    }

    #[test]
    fn a_closed_connection_gives_its_place_back() {
        let caps = ConnectionCaps::new(1, 1);
        let slot = caps.admit(ip("192.0.2.1")).unwrap();
        assert!(caps.admit(ip("192.0.2.1")).is_err());
        drop(slot);
        assert_eq!(caps.open_connections(), 0);
        assert!(caps.admit(ip("192.0.2.1")).is_ok());
    }

    #[test]
    fn ipv6_addresses_in_one_64_share_a_cap() {
        let caps = ConnectionCaps::new(100, 1);
        let _a = caps.admit(ip("2001:db8:1:2::1")).unwrap();
        assert!(caps.admit(ip("2001:db8:1:2:ffff::9")).is_err());
        assert!(caps.admit(ip("2001:db8:1:3::1")).is_ok());
        assert_eq!(
            Source::of(ip("2001:db8:1:2::1")).to_string(),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn an_ipv4_client_seen_through_a_dual_stack_socket_is_counted_as_ipv4() {
        assert_eq!(
            Source::of(ip("::ffff:192.0.2.1")),
            Source::of(ip("192.0.2.1"))
        );
    }
}
