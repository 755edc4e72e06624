//! `--trusted-proxies`: the addresses whose `Forwarded` / `X-Forwarded-*` headers are believed
//! (`crate::http::client_origin` walks the headers).

use std::fmt;
use std::net::IpAddr;

/// At most this many ranges: the list is searched for every hop of every forwarded request.
pub const MAX_TRUSTED_PROXIES: usize = 256;

/// One address, or a network written `ADDRESS/PREFIX` (IPv4 or IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR range"))?;
        // An IPv4-mapped IPv6 range would never match: peers are compared in canonical form.
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        let network = mask(addr, prefix);
        if network != addr {
            // `10.0.0.1/8` is most likely a typo for an address or for `10.0.0.0/8`; refusing
            // it beats guessing which.
            return Err(format!(
                "{text:?} has bits set past its prefix (did you mean {network}/{prefix}?)"
            ));
        }
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & mask).into())
        }
    }
}

/// The reverse proxies in front of the server. Empty (the default): no forwarding header is
/// believed, and every request's client is its socket's peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpRange>);

impl TrustedProxies {
    /// A comma-separated list of addresses and CIDR ranges; blanks around items are ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let ranges = text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(IpRange::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if ranges.len() > MAX_TRUSTED_PROXIES {
            return Err(format!(
                "at most {MAX_TRUSTED_PROXIES} addresses or ranges (got {})",
                ranges.len()
            ));
        }
        Ok(Self(ranges))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_bare_address_trusts_that_address_only() {
        let proxies = TrustedProxies::parse("10.0.0.5").unwrap();
        assert!(proxies.contains(ip("10.0.0.5")));
        assert!(!proxies.contains(ip("10.0.0.6")));
    }

    #[test]
    fn ranges_of_both_families_are_matched_by_prefix() {
        let proxies = TrustedProxies::parse(" 10.0.0.0/8 , 2001:db8::/32,192.168.1.0/24 ").unwrap();
        assert!(proxies.contains(ip("10.255.1.2")));
        assert!(proxies.contains(ip("192.168.1.77")));
        assert!(!proxies.contains(ip("192.168.2.1")));
        assert!(proxies.contains(ip("2001:db8:1::9")));
        assert!(!proxies.contains(ip("2001:db9::1")));
        assert!(!proxies.contains(ip("11.0.0.1")));
    }

    #[test]
    fn an_ipv4_mapped_peer_matches_its_ipv4_range() {
        let proxies = TrustedProxies::parse("127.0.0.1/32").unwrap();
        assert!(proxies.contains(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn zero_prefixes_trust_a_whole_family_only() {
        let proxies = TrustedProxies::parse("0.0.0.0/0").unwrap();
        assert!(proxies.contains(ip("203.0.113.9")));
        assert!(!proxies.contains(ip("2001:db8::1")));
        let v6 = TrustedProxies::parse("::/0").unwrap();
        assert!(v6.contains(ip("2001:db8::1")));
        assert!(!v6.contains(ip("203.0.113.9")));
    }

    #[test]
    fn an_empty_list_trusts_nobody() {
        let proxies = TrustedProxies::parse("").unwrap();
        assert!(proxies.is_empty());
        assert!(!proxies.contains(ip("127.0.0.1")));
    }

    #[test]
    fn malformed_items_are_refused_with_the_item_named() {
        for (text, names) in [
            ("10.0.0.0/33", "10.0.0.0/33"),
            ("2001:db8::/129", "2001:db8::/129"),
            ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
            ("proxy.internal", "proxy.internal"),
            ("10.0.0.0/", "10.0.0.0/"),
            ("10.0.0.0/x", "10.0.0.0/x"),
            ("10.0.0.1, 300.0.0.1", "300.0.0.1"),
        ] {
            let error = TrustedProxies::parse(text).unwrap_err();
            assert!(error.contains(names), "{text}: {error}");
        }
    }
}
