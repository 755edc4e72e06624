//! The assertion explainer: every rule of the token path run against one assertion (or a
//! pasted header and claims), each with its verdict, what was found and what was expected, in
//! the token path's order — so the first failure is the reason the token endpoint would log.
//!
//! It judges nothing itself: each verdict is the answer of the function the token path calls
//! (`rules`, `parse`); this module only keeps going where the token path stops, and words the
//! answers for a person. It is pure, like the rest of [`super`]: the caller looks the `jti` up
//! (read-only) and hands the answer to [`Explanation::record_jti_use`]. The assertion text and
//! its signature never appear in what it returns; header and claim values do, for the signed-in
//! administrator who pasted them.

use super::parse::{self, Aud, Claims, Header};
use super::reason::{Reason, Rejection};
use super::rules::{self, Signed};
use super::{AssertionAlg, CandidateKey, Expectations, MAX_ASSERTION_LEN, MAX_LIFETIME, SKEW};
use crate::crypto::jwt::{Compact, b64url, b64url_decode};
use crate::oauth::error::AuthFailure;

/// What was pasted.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    /// A compact assertion, `header.payload.signature`.
    Compact(&'a str),
    /// The header and the claims as JSON text, without a signature.
    Decoded { header: &'a str, claims: &'a str },
}

/// One rule of the token path, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Size,
    Form,
    Header,
    Alg,
    Crit,
    Typ,
    Claims,
    Iss,
    Method,
    Kid,
    Credential,
    Signature,
    Sub,
    ClientId,
    Aud,
    Exp,
    Nbf,
    Iat,
    Lifetime,
    Jti,
    Replay,
}

impl Check {
    /// Every check, in the order the token path applies them.
    pub const ORDER: [Self; 21] = [
        Self::Size,
        Self::Form,
        Self::Header,
        Self::Alg,
        Self::Crit,
        Self::Typ,
        Self::Claims,
        Self::Iss,
        Self::Method,
        Self::Kid,
        Self::Credential,
        Self::Signature,
        Self::Sub,
        Self::ClientId,
        Self::Aud,
        Self::Exp,
        Self::Nbf,
        Self::Iat,
        Self::Lifetime,
        Self::Jti,
        Self::Replay,
    ];

    /// A stable short name (page anchors, tests).
    pub fn name(self) -> &'static str {
        match self {
            Self::Size => "size",
            Self::Form => "form",
            Self::Header => "header",
            Self::Alg => "alg",
            Self::Crit => "crit",
            Self::Typ => "typ",
            Self::Claims => "claims",
            Self::Iss => "iss",
            Self::Method => "method",
            Self::Kid => "kid",
            Self::Credential => "credential",
            Self::Signature => "signature",
            Self::Sub => "sub",
            Self::ClientId => "client_id",
            Self::Aud => "aud",
            Self::Exp => "exp",
            Self::Nbf => "nbf",
            Self::Iat => "iat",
            Self::Lifetime => "lifetime",
            Self::Jti => "jti",
            Self::Replay => "replay",
        }
    }

    /// What the check is about, in plain words.
    pub fn title(self) -> &'static str {
        match self {
            Self::Size => "Size",
            Self::Form => "Compact form",
            Self::Header => "Header is JSON",
            Self::Alg => "Algorithm (alg)",
            Self::Crit => "No critical extensions (crit)",
            Self::Typ => "Type (typ)",
            Self::Claims => "Claims are JSON",
            Self::Iss => "Issuer (iss)",
            Self::Method => "Application uses Private Key JWT",
            Self::Kid => "Key id (kid)",
            Self::Credential => "Credential usable",
            Self::Signature => "Signature",
            Self::Sub => "Subject (sub) equals iss",
            Self::ClientId => "iss is this application's client ID",
            Self::Aud => "Audience (aud)",
            Self::Exp => "Expiry (exp)",
            Self::Nbf => "Not before (nbf)",
            Self::Iat => "Issued at (iat)",
            Self::Lifetime => "Lifetime",
            Self::Jti => "Assertion id (jti)",
            Self::Replay => "jti not used before",
        }
    }
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// An earlier check this one depends on failed.
    NotRun,
    /// The check does not apply to what was pasted (an absent optional claim, no signature).
    NotApplicable,
}

impl Verdict {
    /// The verdict in words: the page shows it as text, not by colour alone.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::NotRun => "not run",
            Self::NotApplicable => "not applicable",
        }
    }
}

/// One check's verdict, what was found and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub verdict: Verdict,
    pub found: String,
    pub expected: String,
    /// For a failure, the reason code the token endpoint would write to the audit log.
    pub code: Option<&'static str>,
}

/// Every check's finding, in [`Check::ORDER`].
#[derive(Debug, Clone)]
pub struct Explanation {
    findings: Vec<Finding>,
    /// The `jti` to look up, when it passed its own checks.
    jti: Option<String>,
}

impl Explanation {
    /// Findings up to a failure after which the token endpoint reads nothing more.
    fn stopped(mut findings: Vec<Finding>, because: Check) -> Self {
        let done = findings.len();
        for check in &Check::ORDER[done..] {
            findings.push(not_run(*check, because, ""));
        }
        Self {
            findings,
            jti: None,
        }
    }

    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    pub fn finding(&self, check: Check) -> &Finding {
        // Every check has exactly one finding, at its place in the order.
        &self.findings[Check::ORDER
            .iter()
            .position(|c| *c == check)
            .unwrap_or_default()]
    }

    /// The first failure: what the token endpoint would refuse the assertion for, and log.
    pub fn first_failure(&self) -> Option<&Finding> {
        self.findings.iter().find(|f| f.verdict == Verdict::Fail)
    }

    /// The `jti` whose earlier use the caller should look up (read-only), if it is well-formed.
    pub fn jti_to_look_up(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// For an application with keys published at a URL, the first failure worded as the token
    /// endpoint logs it ([`AuthFailure::of_published_keys`]).
    pub fn blame_key_source(&mut self, set_unavailable: bool) {
        let Some(failure) = self
            .findings
            .iter_mut()
            .find(|f| f.verdict == Verdict::Fail)
        else {
            return;
        };
        let reason = Reason::ALL.iter().find(|r| failure.code == Some(r.code()));
        if let Some(blamed) =
            reason.and_then(|r| AuthFailure::of_published_keys(*r, set_unavailable))
        {
            failure.code = Some(blamed.code());
        }
    }

    /// Records whether the `jti` was used before (BEHAVIOUR B.6).
    pub fn record_jti_use(&mut self, used: bool) {
        let Some(jti) = self.jti.take() else {
            return;
        };
        let finding = &mut self.findings[Check::ORDER.len() - 1];
        *finding = if used {
            fail(
                Check::Replay,
                format!(
                    "{} was already used by an accepted token request",
                    shown(&jti)
                ),
                EXPECT_UNUSED,
                AuthFailure::Replayed.code(),
            )
        } else {
            pass(
                Check::Replay,
                format!("{} has not been used", shown(&jti)),
                EXPECT_UNUSED,
            )
        };
    }
}

/// The header's `kid` and `alg`, when the header reads and its `alg` is allowed: what picks
/// the keys of a published set to judge the assertion with (`jwks_uri::KeySet::keys_for`), as
/// the token endpoint picks them before its checks.
pub fn key_hints(input: Input<'_>) -> Option<(Option<String>, AssertionAlg)> {
    let header = match input {
        Input::Compact(text) => {
            rules::check_size(text).ok()?;
            parse::decode_json_object(Compact::split(text)?.header).ok()?
        }
        Input::Decoded { header, .. } => header.as_bytes().to_vec(),
    };
    let header = Header::parse(&header).ok()?;
    let alg = parse::check_alg(&header).ok()?;
    Some((header.kid, alg))
}

const EXPECT_SIGNATURE: &str = "a signature by the private key of the chosen credential";

const EXPECT_UNUSED: &str = "a jti not used before: each assertion is accepted once, so make a new one (new jti) for \
     every token request";

fn pass(check: Check, found: impl Into<String>, expected: impl Into<String>) -> Finding {
    Finding {
        check,
        verdict: Verdict::Pass,
        found: found.into(),
        expected: expected.into(),
        code: None,
    }
}

fn fail(
    check: Check,
    found: impl Into<String>,
    expected: impl Into<String>,
    code: &'static str,
) -> Finding {
    Finding {
        check,
        verdict: Verdict::Fail,
        found: found.into(),
        expected: expected.into(),
        code: Some(code),
    }
}

fn failed(
    check: Check,
    found: impl Into<String>,
    expected: impl Into<String>,
    reason: Reason,
) -> Finding {
    fail(check, found, expected, reason.code())
}

fn not_run(check: Check, because: Check, expected: impl Into<String>) -> Finding {
    Finding {
        check,
        verdict: Verdict::NotRun,
        found: format!("not checked: \"{}\" did not pass", because.title()),
        expected: expected.into(),
        code: None,
    }
}

fn not_applicable(check: Check, found: impl Into<String>, expected: impl Into<String>) -> Finding {
    Finding {
        check,
        verdict: Verdict::NotApplicable,
        found: found.into(),
        expected: expected.into(),
        code: None,
    }
}

/// A pasted value as the page shows it: quoted, control characters escaped, cut short.
fn shown(value: &str) -> String {
    const MAX_SHOWN: usize = 128;
    let mut out: String = value
        .chars()
        .take(MAX_SHOWN)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().count() > MAX_SHOWN {
        out.push('…');
    }
    format!("\"{out}\"")
}

/// A NumericDate with its instant and its distance from now.
fn when(at: i64, now: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        });
    let distance = match at.checked_sub(now) {
        Some(0) => "now".to_owned(),
        Some(d) if d > 0 => format!("in {d} s"),
        Some(d) => format!("{} s ago", d.unsigned_abs()),
        None => "far from now".to_owned(),
    };
    match date {
        Some(date) => format!("{at} ({date}, {distance})"),
        None => format!("{at} (out of any date's range)"),
    }
}

fn credential_label(c: &CandidateKey<'_>) -> String {
    format!("{} (kid {})", c.credential_id, shown(c.kid))
}

/// A credential's state, as the key choice sees it.
fn credential_state(c: &CandidateKey<'_>, now: i64) -> String {
    let expiry = match c.expires_at {
        None => "never expires".to_owned(),
        Some(at) if c.expired_at(now) => format!("expired at {}", when(at, now)),
        Some(at) => format!("expires at {}", when(at, now)),
    };
    let enabled = if c.enabled { "enabled" } else { "disabled" };
    format!(
        "{}: {enabled}, {expiry}, alg {}",
        credential_label(c),
        c.alg.as_str()
    )
}

fn every_state(candidates: &[CandidateKey<'_>], now: i64) -> String {
    if candidates.is_empty() {
        return "the application has no credential".to_owned();
    }
    candidates
        .iter()
        .map(|c| credential_state(c, now))
        .collect::<Vec<_>>()
        .join("; ")
}

fn algs_allowed() -> String {
    AssertionAlg::ALL.map(AssertionAlg::as_str).join(", ")
}

/// Explains `input` against the application's credentials (all of them, enabled or not) and
/// `expect`. The `jti`'s earlier use is left to [`Explanation::record_jti_use`]. Never panics,
/// whatever the input.
pub fn explain(
    input: Input<'_>,
    candidates: &[CandidateKey<'_>],
    expect: &Expectations<'_>,
    uses_private_key_jwt: bool,
) -> Explanation {
    let mut out = Vec::with_capacity(Check::ORDER.len());
    let now = expect.now;

    // Size and compact form: the bytes as they would reach the token endpoint.
    let expect_size = format!("at most {MAX_ASSERTION_LEN} bytes");
    let expect_form = "three non-empty base64url parts, header.payload.signature";
    let no_signature = || {
        not_applicable(
            Check::Signature,
            "not checked: no signature (a decoded header and claims were pasted)",
            EXPECT_SIGNATURE,
        )
    };
    // The header and claims as JSON, and what the signature covers (or why there is none).
    let (header_json, claims_json, signed_parts) = match input {
        Input::Compact(text) => {
            let size = format!("{} bytes", text.len());
            if let Err(reason) = rules::check_size(text) {
                // The token endpoint reads nothing of an assertion over the limit.
                out.push(failed(Check::Size, size, expect_size, reason));
                return Explanation::stopped(out, Check::Size);
            }
            out.push(pass(Check::Size, size, expect_size));
            let Some(parts) = Compact::split(text) else {
                let parts = text.split('.').count();
                let found = if parts == 3 {
                    "three parts, one of them empty or holding characters outside base64url \
                     (A–Z, a–z, 0–9, - and _, no padding)"
                        .to_owned()
                } else {
                    format!("{parts} part(s) separated by dots")
                };
                out.push(failed(
                    Check::Form,
                    found,
                    expect_form,
                    Reason::MalformedAssertion,
                ));
                return Explanation::stopped(out, Check::Form);
            };
            let signed_parts = match b64url_decode(parts.signature) {
                Some(signature) => {
                    out.push(pass(Check::Form, "three base64url parts", expect_form));
                    Ok((parts.signing_input, signature))
                }
                None => {
                    out.push(failed(
                        Check::Form,
                        "three parts, but the signature part does not decode as base64url",
                        expect_form,
                        Reason::MalformedAssertion,
                    ));
                    Err(not_run(Check::Signature, Check::Form, EXPECT_SIGNATURE))
                }
            };
            (
                parse::decode_json_object(parts.header),
                parse::decode_json_object(parts.payload),
                signed_parts,
            )
        }
        Input::Decoded { header, claims } => {
            // Encoded, the two parts alone already take this much of the limit.
            let unsigned = format!(
                "{}.{}.",
                b64url(header.as_bytes()),
                b64url(claims.as_bytes())
            );
            let found = format!(
                "{} bytes once encoded, before the signature is added",
                unsigned.len()
            );
            out.push(match rules::check_size(&unsigned) {
                Err(reason) => failed(Check::Size, found, expect_size, reason),
                Ok(()) => not_applicable(Check::Size, found, expect_size),
            });
            out.push(not_applicable(
                Check::Form,
                "a decoded header and claims were pasted",
                expect_form,
            ));
            let object = |text: &str| {
                parse::require_object(text.as_bytes()).map(|()| text.as_bytes().to_vec())
            };
            (object(header), object(claims), Err(no_signature()))
        }
    };

    // The header (BEHAVIOUR B.4).
    let expect_header = "a JSON object; alg, typ and kid strings, each at most once; a kid of at most 128 characters";
    let header = match header_json {
        Ok(bytes) => match Header::parse(&bytes) {
            Ok(header) => {
                out.push(pass(Check::Header, "a JSON object", expect_header));
                Some(header)
            }
            Err(reason) => {
                out.push(failed(
                    Check::Header,
                    "a JSON object, but a member is of the wrong type, null or given twice, or \
                     the kid is over 128 characters",
                    expect_header,
                    reason,
                ));
                None
            }
        },
        Err(reason) => {
            out.push(failed(
                Check::Header,
                "not a JSON object (or not base64url-encoded JSON)",
                expect_header,
                reason,
            ));
            None
        }
    };
    let expect_alg = format!("one of {}", algs_allowed());
    let expect_crit = "no crit member: no extension is understood";
    let expect_typ = "absent, \"JWT\" or \"client-authentication+jwt\"";
    let alg = match &header {
        None => {
            out.push(not_run(Check::Alg, Check::Header, expect_alg));
            out.push(not_run(Check::Crit, Check::Header, expect_crit));
            out.push(not_run(Check::Typ, Check::Header, expect_typ));
            None
        }
        Some(header) => {
            let found_alg = header.alg.as_deref().map_or("absent".to_owned(), shown);
            let alg = match parse::check_alg(header) {
                Ok(alg) => {
                    out.push(pass(Check::Alg, found_alg, expect_alg));
                    Some(alg)
                }
                Err(reason) => {
                    out.push(failed(Check::Alg, found_alg, expect_alg, reason));
                    None
                }
            };
            out.push(match parse::check_crit(header) {
                Ok(()) => pass(Check::Crit, "no crit member", expect_crit),
                Err(reason) => failed(Check::Crit, "a crit member", expect_crit, reason),
            });
            let found_typ = header.typ.as_deref().map_or("absent".to_owned(), shown);
            out.push(match parse::check_typ(header) {
                Ok(()) => pass(Check::Typ, found_typ, expect_typ),
                Err(reason) => failed(Check::Typ, found_typ, expect_typ, reason),
            });
            alg
        }
    };

    // The claims' types, then `iss`, which the token endpoint looks the application up by.
    let expect_claims = "a JSON object; iss, sub and jti strings; aud a string; exp, nbf and iat \
                         whole numbers; none of them null or given twice";
    let claims = match claims_json {
        Ok(bytes) => match Claims::parse(&bytes) {
            Ok(claims) => {
                out.push(pass(
                    Check::Claims,
                    "a JSON object with claims of the right types",
                    expect_claims,
                ));
                Some(claims)
            }
            Err(reason) => {
                out.push(failed(
                    Check::Claims,
                    "a JSON object, but a claim is of the wrong type (a timestamp as a string or \
                     with a fraction, aud a number, …), null or given twice",
                    expect_claims,
                    reason,
                ));
                None
            }
        },
        Err(reason) => {
            out.push(failed(
                Check::Claims,
                "not a JSON object (or not base64url-encoded JSON)",
                expect_claims,
                reason,
            ));
            None
        }
    };
    let expect_iss = format!(
        "present, at most 64 characters: this application's client ID, {}",
        shown(expect.client_id)
    );
    let iss_ok = match &claims {
        None => {
            out.push(not_run(Check::Iss, Check::Claims, expect_iss));
            false
        }
        Some(claims) => {
            let found = claims.iss.as_deref().map_or("absent".to_owned(), shown);
            match rules::check_iss(claims) {
                Ok(_) => {
                    out.push(pass(Check::Iss, found, expect_iss));
                    true
                }
                Err(reason) => {
                    out.push(failed(Check::Iss, found, expect_iss, reason));
                    false
                }
            }
        }
    };

    // The application's method, then the key (BEHAVIOUR B.5) and the signature.
    let expect_method = "Private Key JWT";
    out.push(if uses_private_key_jwt {
        pass(Check::Method, "Private Key JWT", expect_method)
    } else {
        fail(
            Check::Method,
            "a client secret method (or none)",
            expect_method,
            AuthFailure::PrivateKeyJwtNotEnabled.code(),
        )
    });
    let kid = header.as_ref().and_then(|h| h.kid.as_deref());
    key_findings(
        &mut out,
        header.is_some(),
        kid,
        alg,
        signed_parts,
        candidates,
        now,
    );

    // The claims (BEHAVIOUR A.6, B.1, B.3), in `rules::check_claims`'s order.
    let jti = claim_findings(&mut out, claims.as_ref(), iss_ok, expect);
    out.push(match &jti {
        Some(_) => Finding {
            check: Check::Replay,
            verdict: Verdict::NotRun,
            found: "not looked up".to_owned(),
            expected: EXPECT_UNUSED.to_owned(),
            code: None,
        },
        None => not_run(Check::Replay, Check::Jti, EXPECT_UNUSED),
    });
    Explanation { findings: out, jti }
}

/// The `kid`, credential and signature findings, from the same key choice the token path makes.
fn key_findings(
    out: &mut Vec<Finding>,
    header_ok: bool,
    kid: Option<&str>,
    alg: Option<AssertionAlg>,
    signed_parts: Result<(&str, Vec<u8>), Finding>,
    candidates: &[CandidateKey<'_>],
    now: i64,
) {
    let kids: Vec<String> = candidates.iter().map(credential_label).collect();
    let expect_kid = if kids.is_empty() {
        "the kid of one of this application's credentials (it has none); or no kid".to_owned()
    } else {
        format!(
            "the kid of one of this application's credentials: {}; or no kid, to have each \
             usable credential tried",
            kids.join(", ")
        )
    };
    let expect_credential = match alg {
        Some(alg) => format!("an enabled, unexpired credential with alg {}", alg.as_str()),
        None => "an enabled, unexpired credential with the header's alg".to_owned(),
    };
    let expect_signature = EXPECT_SIGNATURE;
    if !header_ok {
        out.push(not_run(Check::Kid, Check::Header, expect_kid));
        out.push(not_run(Check::Credential, Check::Header, expect_credential));
        out.push(not_run(Check::Signature, Check::Header, expect_signature));
        return;
    }

    // The `kid` names a credential, or there is none to name.
    let named: Vec<&CandidateKey<'_>> = candidates
        .iter()
        .filter(|c| rules::named_by(c, kid))
        .collect();
    match kid {
        Some(kid) if named.is_empty() => {
            out.push(failed(
                Check::Kid,
                shown(kid),
                expect_kid,
                Reason::UnknownKid,
            ));
            out.push(not_run(Check::Credential, Check::Kid, expect_credential));
            out.push(not_run(Check::Signature, Check::Kid, expect_signature));
            return;
        }
        Some(kid) => {
            let names: Vec<String> = named.iter().map(|c| c.credential_id.to_owned()).collect();
            out.push(pass(
                Check::Kid,
                format!("{} names credential {}", shown(kid), names.join(", ")),
                expect_kid,
            ));
        }
        None => out.push(not_applicable(
            Check::Kid,
            "no kid: each enabled, unexpired credential of the header's alg is tried",
            expect_kid,
        )),
    }
    let Some(alg) = alg else {
        out.push(not_run(Check::Credential, Check::Alg, expect_credential));
        out.push(not_run(Check::Signature, Check::Alg, expect_signature));
        return;
    };

    match signed_parts {
        Ok((message, signature)) => {
            let signed = Signed {
                message: message.as_bytes(),
                signature: &signature,
                alg,
                kid,
            };
            judged_key(
                out,
                rules::authenticate(&signed, candidates, now),
                kid,
                alg,
                candidates,
                now,
            );
        }
        Err(signature_finding) => {
            // No signature to verify: the choice alone, by the same rule as the token path.
            let usable: Vec<&CandidateKey<'_>> = named
                .iter()
                .copied()
                .filter(|c| rules::unusable(c, alg, now).is_none())
                .collect();
            let first_problem = named
                .iter()
                .find_map(|c| rules::unusable(c, alg, now).map(|r| (*c, r)));
            match (usable.is_empty(), kid, first_problem) {
                (false, _, _) => {
                    let states: Vec<String> =
                        usable.iter().map(|c| credential_state(c, now)).collect();
                    out.push(pass(
                        Check::Credential,
                        states.join("; "),
                        expect_credential,
                    ));
                }
                (true, Some(_), Some((c, reason))) => out.push(failed(
                    Check::Credential,
                    credential_state(c, now),
                    expect_credential,
                    reason,
                )),
                _ => out.push(failed(
                    Check::Credential,
                    every_state(candidates, now),
                    expect_credential,
                    Reason::NoUsableCredential,
                )),
            }
            out.push(signature_finding);
        }
    }
}

/// The credential and signature findings from the token path's own verdict.
fn judged_key(
    out: &mut Vec<Finding>,
    verdict: Result<&str, Rejection>,
    kid: Option<&str>,
    alg: AssertionAlg,
    candidates: &[CandidateKey<'_>],
    now: i64,
) {
    let expect_credential = format!("an enabled, unexpired credential with alg {}", alg.as_str());
    let expect_signature = EXPECT_SIGNATURE;
    let state_of = |id: &str| {
        candidates
            .iter()
            .find(|c| c.credential_id == id)
            .map_or_else(|| id.to_owned(), |c| credential_state(c, now))
    };
    match verdict {
        Ok(id) => {
            out.push(pass(Check::Credential, state_of(id), expect_credential));
            out.push(pass(
                Check::Signature,
                format!("verified with the key of credential {id}"),
                expect_signature,
            ));
        }
        Err(r) => match (r.reason(), r.credential_id()) {
            (Reason::BadSignature, id) => {
                let tried: Vec<String> = candidates
                    .iter()
                    .filter(|c| rules::named_by(c, kid) && rules::unusable(c, alg, now).is_none())
                    .map(|c| credential_state(c, now))
                    .collect();
                out.push(pass(Check::Credential, tried.join("; "), expect_credential));
                let found = match id {
                    Some(id) => format!("does not verify with the key of credential {id}"),
                    None => "does not verify with the key of any usable credential".to_owned(),
                };
                out.push(failed(
                    Check::Signature,
                    found,
                    format!(
                        "{expect_signature}, over exactly the header and payload sent, with {}",
                        alg.as_str()
                    ),
                    Reason::BadSignature,
                ));
            }
            (
                reason @ (Reason::CredentialExpired
                | Reason::CredentialDisabled
                | Reason::AlgMismatch),
                Some(id),
            ) => {
                out.push(failed(
                    Check::Credential,
                    state_of(id),
                    expect_credential,
                    reason,
                ));
                if kid.is_some() {
                    out.push(not_run(
                        Check::Signature,
                        Check::Credential,
                        expect_signature,
                    ));
                } else {
                    // Without a kid, the credential was found by its key verifying the signature.
                    out.push(pass(
                        Check::Signature,
                        format!("verified with the key of credential {id}, which cannot be used"),
                        expect_signature,
                    ));
                }
            }
            (reason, _) => {
                out.push(failed(
                    Check::Credential,
                    every_state(candidates, now),
                    expect_credential,
                    reason,
                ));
                out.push(not_run(
                    Check::Signature,
                    Check::Credential,
                    expect_signature,
                ));
            }
        },
    }
}

/// The claim findings; returns the `jti` to look up when it passed its own checks.
fn claim_findings(
    out: &mut Vec<Finding>,
    claims: Option<&Claims>,
    iss_ok: bool,
    expect: &Expectations<'_>,
) -> Option<String> {
    let now = expect.now;
    let expect_sub = "present, at most 64 characters, equal to iss";
    let expect_client = format!("this application's client ID, {}", shown(expect.client_id));
    let expect_aud = if expect.accept_legacy_audience {
        format!(
            "{} (the issuer) as a single string; this server also accepts {} or an array \
             containing either (legacy option)",
            shown(expect.issuer),
            shown(expect.token_endpoint)
        )
    } else {
        format!(
            "exactly {} (the issuer, with its trailing slash), as a single string; not the token \
             endpoint, not an array",
            shown(expect.issuer)
        )
    };
    let expect_exp = format!(
        "present, later than now minus {SKEW} s of clock skew: after {}",
        when(now.saturating_sub(SKEW), now)
    );
    let expect_nbf = format!(
        "optional; at most now plus {SKEW} s: {}",
        when(now.saturating_add(SKEW), now)
    );
    let expect_iat = format!(
        "optional; issued at most now plus {SKEW} s: {}",
        when(now.saturating_add(SKEW), now)
    );
    let expect_lifetime =
        format!("exp at most {MAX_LIFETIME} s after iat (or after now when there is no iat)");
    let expect_jti = "present, 1 to 64 characters, no control characters; new for each assertion";

    let Some(claims) = claims else {
        for (check, expected) in [
            (Check::Sub, expect_sub.to_owned()),
            (Check::ClientId, expect_client),
            (Check::Aud, expect_aud),
            (Check::Exp, expect_exp),
            (Check::Nbf, expect_nbf),
            (Check::Iat, expect_iat),
            (Check::Lifetime, expect_lifetime),
            (Check::Jti, expect_jti.to_owned()),
        ] {
            out.push(not_run(check, Check::Claims, expected));
        }
        return None;
    };

    if iss_ok {
        let found = claims.sub.as_deref().map_or("absent".to_owned(), shown);
        out.push(match rules::check_sub(claims) {
            Ok(()) => pass(Check::Sub, found, expect_sub),
            Err(reason) => failed(Check::Sub, found, expect_sub, reason),
        });
        let found = shown(claims.issuer());
        out.push(match rules::check_client_id(claims, expect) {
            Ok(()) => pass(Check::ClientId, found, expect_client),
            Err(reason) => failed(Check::ClientId, found, expect_client, reason),
        });
    } else {
        out.push(not_run(Check::Sub, Check::Iss, expect_sub));
        out.push(not_run(Check::ClientId, Check::Iss, expect_client));
    }

    let found_aud = match &claims.aud {
        None => "absent".to_owned(),
        Some(Aud::One(one)) => shown(one),
        Some(Aud::Many(many)) => format!(
            "an array: [{}]",
            many.iter().map(|a| shown(a)).collect::<Vec<_>>().join(", ")
        ),
    };
    out.push(match rules::check_audience(claims.aud.as_ref(), expect) {
        Ok(false) => pass(Check::Aud, found_aud, expect_aud),
        Ok(true) => pass(
            Check::Aud,
            format!("{found_aud}, accepted only by the legacy audience option"),
            expect_aud,
        ),
        Err(reason) => failed(Check::Aud, found_aud, expect_aud, reason),
    });

    let found_exp = claims.exp.map_or("absent".to_owned(), |exp| when(exp, now));
    let exp = match rules::check_exp(claims, now) {
        Ok(exp) => {
            out.push(pass(Check::Exp, found_exp, expect_exp));
            Some(exp)
        }
        Err(reason) => {
            out.push(failed(Check::Exp, found_exp, expect_exp, reason));
            // An expired assertion still has a lifetime worth reporting.
            claims.exp
        }
    };
    out.push(match (claims.nbf, rules::check_nbf(claims, now)) {
        (None, _) => not_applicable(Check::Nbf, "absent", expect_nbf),
        (Some(nbf), Ok(())) => pass(Check::Nbf, when(nbf, now), expect_nbf),
        (Some(nbf), Err(reason)) => failed(Check::Nbf, when(nbf, now), expect_nbf, reason),
    });
    out.push(match (claims.iat, rules::check_iat(claims, now)) {
        (None, _) => not_applicable(Check::Iat, "absent", expect_iat),
        (Some(iat), Ok(())) => pass(Check::Iat, when(iat, now), expect_iat),
        (Some(iat), Err(reason)) => failed(Check::Iat, when(iat, now), expect_iat, reason),
    });
    out.push(match exp {
        None => not_run(Check::Lifetime, Check::Exp, expect_lifetime),
        Some(exp) => {
            let from = if claims.iat.is_some() { "iat" } else { "now" };
            let seconds = exp.saturating_sub(rules::lifetime_start(claims, now));
            let found = format!("exp is {seconds} s after {from}");
            match rules::check_lifetime(claims, exp, now) {
                Ok(()) => pass(Check::Lifetime, found, expect_lifetime),
                Err(reason) => failed(Check::Lifetime, found, expect_lifetime, reason),
            }
        }
    });

    let found_jti = match claims.jti.as_deref() {
        None => "absent".to_owned(),
        Some(jti) => format!("{} ({} characters)", shown(jti), jti.chars().count()),
    };
    match rules::check_jti(claims) {
        Ok(jti) => {
            out.push(pass(Check::Jti, found_jti, expect_jti));
            Some(jti.to_owned())
        }
        Err(reason) => {
            out.push(failed(Check::Jti, found_jti, expect_jti, reason));
            None
        }
    }
}
