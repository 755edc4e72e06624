//! Which URLs and addresses a `jwks_uri` may reach (BEHAVIOUR B.12). A key URL is chosen by
//! whoever manages an application, so without these rules the server would fetch, from inside
//! the network it runs in, any address an API caller names: cloud metadata endpoints, admin
//! ports on loopback, private services (server-side request forgery).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Longest accepted `jwks_uri`, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// `--allow-insecure-key-urls`: plain `http://` and private addresses, for tests and labs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyUrlPolicy {
    pub allow_insecure: bool,
}

/// Why a key URL or the address it resolved to was refused. Messages are shown to API callers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("must be an absolute URL of at most {MAX_URL_LEN} characters")]
    Malformed,
    #[error("must use https (plain http only with --allow-insecure-key-urls)")]
    NotHttps,
    #[error("must not hold a user name, password or fragment")]
    Userinfo,
    #[error(
        "points at {0}, a loopback, private, link-local or otherwise internal address; key URLs \
         must reach a public address (only --allow-insecure-key-urls relaxes this)"
    )]
    InternalAddress(IpAddr),
    #[error("the host name resolves to no public address")]
    NoPublicAddress,
    #[error("the host name could not be resolved")]
    Unresolvable,
}

impl KeyUrlPolicy {
    /// The checks that need no network: syntax, scheme, and an address written in the URL.
    /// They run at creation and again before every fetch.
    pub fn check_url(&self, text: &str) -> Result<Url, UrlRefused> {
        if text.len() > MAX_URL_LEN || text.chars().any(char::is_control) {
            return Err(UrlRefused::Malformed);
        }
        let url = Url::parse(text).map_err(|_| UrlRefused::Malformed)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_insecure => {}
            _ => return Err(UrlRefused::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(UrlRefused::Userinfo);
        }
        match url.host() {
            None => return Err(UrlRefused::Malformed),
            Some(Host::Ipv4(ip)) => self.check_address(IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => self.check_address(IpAddr::V6(ip))?,
            Some(Host::Domain(_)) => {}
        }
        Ok(url)
    }

    /// An address the fetcher is about to connect to (checked on every fetch, after DNS, so a
    /// name that resolves to a public address at creation and to an internal one later is
    /// still refused).
    pub fn check_address(&self, ip: IpAddr) -> Result<(), UrlRefused> {
        if self.allow_insecure || is_public(ip) {
            Ok(())
        } else {
            Err(UrlRefused::InternalAddress(ip))
        }
    }
}

/// True for addresses on the public internet; false for every range that reaches the server's
/// own host or network (RFC 6890 special-purpose registries, plus cloud metadata).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            // An IPv4 address in IPv6 clothing is judged as the IPv4 address it reaches.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            is_public_v6(v6)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, which holds the cloud metadata address
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, RFC 2544
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, RFC 4193 (AWS's fd00:ec2::254 among them)
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated, still routed by some)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64: reaches IPv4 space, possibly private
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard-only
        || (s[0] == 0x2002) // 6to4: embeds an arbitrary IPv4 address
        || ip.to_ipv4().is_some()) // IPv4-compatible (deprecated ::a.b.c.d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: KeyUrlPolicy = KeyUrlPolicy {
        allow_insecure: false,
    };
    const LAB: KeyUrlPolicy = KeyUrlPolicy {
        allow_insecure: true,
    };

    #[test]
    fn internal_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must not be public");
        }
        for ip in [
            "93.184.215.14",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn urls_must_be_https_to_public_hosts_without_credentials() {
        assert!(
            STRICT
                .check_url("https://keys.example.com/jwks.json")
                .is_ok()
        );
        assert_eq!(
            STRICT.check_url("http://keys.example.com/jwks.json"),
            Err(UrlRefused::NotHttps)
        );
        assert_eq!(
            STRICT.check_url("ftp://keys.example.com/"),
            Err(UrlRefused::NotHttps)
        );
        assert!(matches!(
            STRICT.check_url("https://169.254.169.254/latest/meta-data"),
            Err(UrlRefused::InternalAddress(_))
        ));
        assert!(matches!(
            STRICT.check_url("https://[::1]:8443/jwks"),
            Err(UrlRefused::InternalAddress(_))
        ));
        // Decimal and hex forms of 127.0.0.1 are normalised by the URL parser, not missed.
        assert!(matches!(
            STRICT.check_url("https://2130706433/"),
            Err(UrlRefused::InternalAddress(_))
        ));
        assert!(matches!(
            STRICT.check_url("https://0x7f.1/"),
            Err(UrlRefused::InternalAddress(_))
        ));
        assert_eq!(
            STRICT.check_url("https://user:pw@keys.example.com/"),
            Err(UrlRefused::Userinfo)
        );
        assert_eq!(
            STRICT.check_url("https://keys.example.com/#frag"),
            Err(UrlRefused::Userinfo)
        );
        assert_eq!(STRICT.check_url("/jwks.json"), Err(UrlRefused::Malformed));
        let long = format!("https://keys.example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(STRICT.check_url(&long), Err(UrlRefused::Malformed));
    }

    #[test]
    fn the_lab_setting_relaxes_scheme_and_address_only() {
        assert!(LAB.check_url("http://127.0.0.1:9000/jwks.json").is_ok());
        assert_eq!(
            LAB.check_url("file:///etc/passwd"),
            Err(UrlRefused::NotHttps)
        );
        assert_eq!(
            LAB.check_url("http://u@127.0.0.1/"),
            Err(UrlRefused::Userinfo)
        );
    }
}
