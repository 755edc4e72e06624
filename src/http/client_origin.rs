//! Where a request comes from: the client's address (rate limits per address, the audit log's
//! `ip`) and whether it reached us over HTTPS (cookie `Secure`). Computed once per request by
//! the server (`server::ConnectionService`) and read by handlers through the [`ClientOrigin`]
//! extractor.
//!
//! The socket's peer is the client, unless it is one of `--trusted-proxies`: then the
//! `Forwarded` header (RFC 7239), or else `X-Forwarded-For` / `X-Forwarded-Proto`, is read from
//! the right, each hop being the address the hop to its right saw, and the client is the first
//! address from the right that is not itself a trusted proxy. Hops to the left of it were
//! written by whoever that client is, and are never believed.
//!
//! A hop that names no address (`unknown`, an obfuscated `_name`, an unreadable item) ends the
//! walk: the client is then the nearest address known, the proxy that wrote that hop. A
//! `Forwarded` header that is not RFC 7239 syntax is ignored whole: the peer is the client.

use std::net::{IpAddr, SocketAddr};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};

use crate::config::TrustedProxies;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The client behind a request: its address, and whether it used HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOrigin {
    pub ip: IpAddr,
    /// The request came over TLS to this server, or a trusted proxy says the client used https.
    pub https: bool,
}

impl ClientOrigin {
    /// `peer` is the socket's; `tls` whether that socket is a TLS connection.
    pub fn of(peer: IpAddr, tls: bool, headers: &HeaderMap, proxies: &TrustedProxies) -> Self {
        let peer = peer.to_canonical();
        let direct = Self {
            ip: peer,
            https: tls,
        };
        if proxies.is_empty() || !proxies.contains(peer) {
            return direct;
        }
        let chain = if headers.contains_key(header::FORWARDED) {
            match forwarded_hops(headers) {
                Some(hops) => Chain { hops, proto: None },
                None => return direct,
            }
        } else {
            x_forwarded_chain(headers)
        };
        let (ip, https) = chain.walk(peer, proxies);
        Self {
            ip,
            https: tls || https == Some(true),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientOrigin {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        parts.extensions.get::<Self>().copied().ok_or_else(|| {
            tracing::error!(
                "a request without its client origin: the router runs outside signet's server"
            );
            StatusCode::INTERNAL_SERVER_ERROR
        })
    }
}

/// What one hop says about the client it received the request from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hop {
    /// `None`: no address (`unknown`, obfuscated, or unreadable).
    ip: Option<IpAddr>,
    /// `Some(true)`: that client used https; `None`: not said.
    https: Option<bool>,
}

/// The hops, left (farthest) to right (nearest), and for `X-Forwarded-Proto` without
/// `X-Forwarded-For` the scheme the nearest proxy names.
#[derive(Debug)]
struct Chain {
    hops: Vec<Hop>,
    proto: Option<bool>,
}

impl Chain {
    /// The first address from the right that is not a trusted proxy, and what its hop says of
    /// the scheme.
    fn walk(&self, peer: IpAddr, proxies: &TrustedProxies) -> (IpAddr, Option<bool>) {
        let mut client = peer;
        let mut https = self.proto;
        for hop in self.hops.iter().rev() {
            https = hop.https;
            match hop.ip {
                Some(ip) => {
                    client = ip;
                    if !proxies.contains(ip) {
                        break;
                    }
                }
                None => break,
            }
        }
        (client, https)
    }
}

/// Every value of `name`, joined as one comma-separated list (RFC 9110 §5.3); `None` if any is
/// not visible ASCII.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut all = String::new();
    for value in headers.get_all(name) {
        if !all.is_empty() {
            all.push(',');
        }
        all.push_str(value.to_str().ok()?);
    }
    Some(all)
}

fn proto(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("https") {
        Some(true)
    } else if value.eq_ignore_ascii_case("http") {
        Some(false)
    } else {
        None
    }
}

/// An address as a hop writes it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711`. Anything else is no address.
fn node_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let ip = if let Ok(ip) = text.parse::<IpAddr>() {
        ip
    } else if let Ok(addr) = text.parse::<SocketAddr>() {
        addr.ip()
    } else {
        text.strip_prefix('[')?.strip_suffix(']')?.parse().ok()?
    };
    Some(ip.to_canonical())
}

fn x_forwarded_chain(headers: &HeaderMap) -> Chain {
    let list = |name: HeaderName| {
        joined(headers, &name)
            .map(|all| {
                all.split(',')
                    .map(|item| item.trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let addresses = list(X_FORWARDED_FOR);
    let protos = list(X_FORWARDED_PROTO);
    // One scheme per address when each proxy appended its own; otherwise the nearest proxy's
    // (the rightmost) stands for the request.
    let nearest_proto = protos.last().and_then(|p| proto(p));
    let aligned = protos.len() == addresses.len();
    let hops = addresses
        .iter()
        .enumerate()
        .map(|(i, address)| Hop {
            ip: node_address(address),
            https: if aligned {
                proto(&protos[i])
            } else {
                nearest_proto
            },
        })
        .collect();
    Chain {
        hops,
        proto: nearest_proto,
    }
}

/// The `Forwarded` elements' `for` and `proto`; `None` when the header is not RFC 7239 §4
/// syntax (a parameter twice in one element, a pair without `=`, an open quote, …).
fn forwarded_hops(headers: &HeaderMap) -> Option<Vec<Hop>> {
    let all = joined(headers, &header::FORWARDED)?;
    let mut hops = Vec::new();
    for element in split_outside_quotes(&all, ',')? {
        if element.trim().is_empty() {
            continue;
        }
        let mut node: Option<Option<IpAddr>> = None;
        let mut https: Option<Option<bool>> = None;
        let mut names: Vec<String> = Vec::new();
        for pair in split_outside_quotes(element, ';')? {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (name, value) = pair.split_once('=')?;
            let name = name.to_ascii_lowercase();
            if !is_token(&name) || names.contains(&name) {
                return None;
            }
            let value = unquote(value)?;
            match name.as_str() {
                "for" => node = Some(node_address(&value)),
                "proto" => https = Some(proto(&value)),
                _ => {}
            }
            names.push(name);
        }
        hops.push(Hop {
            ip: node.flatten(),
            https: https.flatten(),
        });
    }
    Some(hops)
}

/// `text` cut at each `separator` that is not inside a quoted string; `None` if a quote is left
/// open.
fn split_outside_quotes(text: &str, separator: char) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(&text[start..i]);
            start = i + 1;
        }
    }
    if quoted {
        return None;
    }
    parts.push(&text[start..]);
    Some(parts)
}

/// A token, or a quoted string with its escapes undone.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        // Lenient beyond the token rule for unquoted addresses with ports (`for=192.0.2.1:80`).
        return (!value.is_empty() && !value.contains(['"', ' ', '\t', '\\']))
            .then(|| value.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn proxies(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    fn origin(peer: &str, pairs: &[(&str, &str)], trusted: &str) -> ClientOrigin {
        ClientOrigin::of(ip(peer), false, &headers(pairs), &proxies(trusted))
    }

    fn at(ip_text: &str, https: bool) -> ClientOrigin {
        ClientOrigin {
            ip: ip(ip_text),
            https,
        }
    }

    // ---- who is believed

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let spoofed = [
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "for=203.0.113.9;proto=https"),
        ];
        assert_eq!(
            origin("198.51.100.1", &spoofed, "10.0.0.0/8"),
            at("198.51.100.1", false)
        );
        assert_eq!(
            origin("198.51.100.1", &spoofed, ""),
            at("198.51.100.1", false)
        );
    }

    #[test]
    fn a_trusted_peer_without_headers_is_the_client() {
        assert_eq!(origin("10.0.0.1", &[], "10.0.0.0/8"), at("10.0.0.1", false));
    }

    #[test]
    fn tls_to_this_server_is_https_whatever_a_proxy_says() {
        let h = headers(&[("x-forwarded-proto", "http")]);
        let o = ClientOrigin::of(ip("10.0.0.1"), true, &h, &proxies("10.0.0.0/8"));
        assert!(o.https);
    }

    // ---- X-Forwarded-For: the right-to-left walk

    #[test]
    fn the_client_is_the_first_untrusted_address_from_the_right() {
        let h = [("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.7")];
        // 1.1.1.1 was written by 203.0.113.9's side and is never believed.
        assert_eq!(
            origin("10.0.0.1", &h, "10.0.0.0/8"),
            at("203.0.113.9", false)
        );
    }

    #[test]
    fn when_every_hop_is_trusted_the_leftmost_is_the_client() {
        let h = [("x-forwarded-for", "10.0.0.9, 10.0.0.8")];
        assert_eq!(origin("10.0.0.1", &h, "10.0.0.0/8"), at("10.0.0.9", false));
    }

    #[test]
    fn several_header_lines_are_one_list_in_order() {
        let h = [
            ("x-forwarded-for", "198.51.100.4"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        assert_eq!(
            origin("10.0.0.1", &h, "10.0.0.0/8"),
            at("203.0.113.9", false)
        );
    }

    #[test]
    fn addresses_with_ports_brackets_and_ipv4_mapping_are_read() {
        for (item, expected) in [
            ("203.0.113.9:4711", "203.0.113.9"),
            ("[2001:db8::1]:4711", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
        ] {
            let h = [("x-forwarded-for", item)];
            assert_eq!(
                origin("10.0.0.1", &h, "10.0.0.0/8").ip,
                ip(expected),
                "{item}"
            );
        }
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk_at_the_proxy_that_wrote_it() {
        let h = [("x-forwarded-for", "203.0.113.9, garbage, 10.0.0.7")];
        assert_eq!(origin("10.0.0.1", &h, "10.0.0.0/8"), at("10.0.0.7", false));
        let h = [("x-forwarded-for", "garbage")];
        assert_eq!(origin("10.0.0.1", &h, "10.0.0.0/8"), at("10.0.0.1", false));
    }

    #[test]
    fn garbage_left_of_the_client_changes_nothing() {
        let h = [("x-forwarded-for", "not an address, , 203.0.113.9")];
        assert_eq!(
            origin("10.0.0.1", &h, "10.0.0.0/8"),
            at("203.0.113.9", false)
        );
    }

    #[test]
    fn x_forwarded_proto_from_the_nearest_proxy_or_per_hop() {
        let h = [
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ];
        assert_eq!(
            origin("10.0.0.1", &h, "10.0.0.0/8"),
            at("203.0.113.9", true)
        );
        // One scheme per hop: the client's own is the one that counts.
        let h = [
            ("x-forwarded-for", "203.0.113.9, 10.0.0.7"),
            ("x-forwarded-proto", "https, http"),
        ];
        assert_eq!(
            origin("10.0.0.1", &h, "10.0.0.0/8"),
            at("203.0.113.9", true)
        );
        // Unaligned lists: the nearest proxy's word.
        let h = [
            ("x-forwarded-for", "203.0.113.9, 10.0.0.7"),
            ("x-forwarded-proto", "HTTPS"),
        ];
        assert_eq!(
            origin("10.0.0.1", &h, "10.0.0.0/8"),
            at("203.0.113.9", true)
        );
    }

    #[test]
    fn x_forwarded_proto_alone_says_the_scheme_of_the_peers_client() {
        let h = [("x-forwarded-proto", "https")];
        assert_eq!(origin("10.0.0.1", &h, "10.0.0.0/8"), at("10.0.0.1", true));
        let h = [("x-forwarded-proto", "gopher")];
        assert_eq!(origin("10.0.0.1", &h, "10.0.0.0/8"), at("10.0.0.1", false));
    }

    // ---- Forwarded (RFC 7239)

    #[test]
    fn forwarded_for_and_proto_are_read_per_element() {
        let h = [(
            "forwarded",
            "for=198.51.100.17;proto=http, For=\"203.0.113.9\";PROTO=https;by=10.0.0.1",
        )];
        assert_eq!(
            origin("10.0.0.1", &h, "10.0.0.0/8"),
            at("203.0.113.9", true)
        );
    }

    #[test]
    fn forwarded_quoted_ipv6_with_port_is_read() {
        let h = [("forwarded", "for=\"[2001:db8:cafe::17]:4711\"")];
        assert_eq!(
            origin("10.0.0.1", &h, "10.0.0.0/8"),
            at("2001:db8:cafe::17", false)
        );
    }

    #[test]
    fn forwarded_takes_precedence_over_x_forwarded_for() {
        let h = [
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=203.0.113.9"),
        ];
        assert_eq!(origin("10.0.0.1", &h, "10.0.0.0/8").ip, ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_walks_past_trusted_hops_only() {
        let h = [(
            "forwarded",
            "for=192.0.2.1, for=203.0.113.9;proto=https, for=10.0.0.7;proto=http",
        )];
        assert_eq!(
            origin("10.0.0.1", &h, "10.0.0.0/8"),
            at("203.0.113.9", true)
        );
    }

    #[test]
    fn forwarded_unknown_and_obfuscated_nodes_name_no_client() {
        // The walk stops there: the client is the proxy that could not say more.
        let h = [(
            "forwarded",
            "for=192.0.2.1, for=unknown;proto=https, for=10.0.0.7",
        )];
        assert_eq!(origin("10.0.0.1", &h, "10.0.0.0/8"), at("10.0.0.7", true));
        let h = [("forwarded", "for=192.0.2.1, for=_hidden")];
        assert_eq!(origin("10.0.0.1", &h, "10.0.0.0/8"), at("10.0.0.1", false));
        // An element without `for` alike.
        let h = [("forwarded", "for=192.0.2.1, proto=https")];
        assert_eq!(origin("10.0.0.1", &h, "10.0.0.0/8"), at("10.0.0.1", true));
    }

    #[test]
    fn malformed_forwarded_falls_back_to_the_peer() {
        for bad in [
            "for=\"203.0.113.9",
            "for=203.0.113.9;for=198.51.100.1",
            "for",
            "for=",
            "=203.0.113.9",
            "for=203.0.113.9 extra",
            "f(r=203.0.113.9",
            "for=\"a\"b\"",
        ] {
            let h = [("forwarded", bad), ("x-forwarded-for", "198.51.100.1")];
            assert_eq!(
                origin("10.0.0.1", &h, "10.0.0.0/8"),
                at("10.0.0.1", false),
                "{bad}"
            );
        }
    }

    #[test]
    fn quoted_strings_may_hold_separators_and_escapes() {
        let h = [(
            "forwarded",
            "for=203.0.113.9;ext=\"a,b;c \\\"d\\\"\", for=10.0.0.7",
        )];
        assert_eq!(origin("10.0.0.1", &h, "10.0.0.0/8").ip, ip("203.0.113.9"));
    }

    #[test]
    fn an_ipv4_mapped_peer_is_reported_as_ipv4() {
        assert_eq!(
            origin("::ffff:198.51.100.1", &[], ""),
            at("198.51.100.1", false)
        );
    }
}
