//! Cryptography: randomness, secrets, at-rest sealing, public-key intake (PEM and JWK), the tenant signing key and
//! compact JWT handling. Nothing here knows about HTTP or storage.

pub mod alg;
pub mod jwk;
pub mod jwt;
pub mod pkcs7;
pub mod public_key;
pub mod random;
pub mod sealing;
pub mod secret;
pub mod signing;
