//! The token endpoint's logic, free of HTTP: parse the request, authenticate the client, check
//! the grant, issue the access token; and verification of our own access tokens.

/// Declares `code` and `ALL` for a refusal-reason enum of unit variants from one list: `code`'s
/// match is exhaustive, so a new reason cannot get a code without also being in `ALL` (which the
/// dashboard's explanations are checked against).
macro_rules! reason_codes {
    ($reason:ty { $($variant:ident => $code:literal,)* }) => {
        impl $reason {
            /// Every reason, in the order of its list.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// Stable snake_case code for the audit log; never changes once shipped.
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }
        }
    };
}

pub mod access_token;
pub mod assertion;
pub mod cache;
pub mod error;
pub mod federated;
pub mod quota;
pub mod replay;
pub mod request;
pub mod token;

pub use error::OAuthError;
