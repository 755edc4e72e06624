//! The settings `signet assertion` and `signet token` share: who the application is, which
//! server it talks to, and the key it signs with.

use std::path::{Path, PathBuf};

use clap::Args;
use signet_client::{Alg, AssertionSigner, Kid, PrivateKey, Typ};

#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The server's issuer, exactly as it publishes it (e.g. `https://tenant.example.com/`,
    /// trailing slash included): the assertion's `aud`.
    #[arg(long)]
    pub issuer: String,

    /// The application's client id: the assertion's `iss` and `sub`.
    #[arg(long)]
    pub client_id: String,

    /// The application's private key (RSA, EC P-256, EC P-384 or Ed25519), PEM: PKCS#8
    /// (`BEGIN PRIVATE KEY`), PKCS#1 (`BEGIN RSA PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`).
    /// Required, except with `signet token --federated`.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Signature algorithm (RS256, RS384, PS256, ES256, ES384, EdDSA); must be the credential's
    /// `alg` and one the key signs. Default: the key's (RS256 for RSA keys, ES256 for P-256,
    /// ES384 for P-384, EdDSA for Ed25519).
    #[arg(long, value_parser = parse_alg)]
    pub alg: Option<Alg>,

    /// `kid` header naming the credential, for one uploaded with its own kid. Default: the key's
    /// RFC 7638 thumbprint, the kid the server gives a credential uploaded without one.
    /// A thumbprint is base64url and begins with `-` one time in 64: taken as a value.
    #[arg(long, conflicts_with = "no_kid", allow_hyphen_values = true)]
    pub kid: Option<String>,

    /// Send no `kid` header: the server then tries each of the application's credentials.
    #[arg(long)]
    pub no_kid: bool,

    /// The assertion header's `typ`: `JWT` (default, what Auth0 expects) or
    /// `client-authentication+jwt` (draft-ietf-oauth-rfc7523bis; signet accepts it).
    #[arg(long, default_value = "JWT", value_parser = parse_typ)]
    pub typ: Typ,
}

fn parse_alg(s: &str) -> Result<Alg, String> {
    s.parse().map_err(|e: signet_client::Error| e.to_string())
}

fn parse_typ(s: &str) -> Result<Typ, String> {
    s.parse().map_err(|e: signet_client::Error| e.to_string())
}

impl ClientArgs {
    /// The key file's text; refuses anything too large to be a key before reading it.
    pub fn key_pem(&self) -> Result<String, String> {
        read_key_file(self.key_file()?)
    }

    pub fn key_file(&self) -> Result<&Path, String> {
        self.key
            .as_deref()
            .ok_or_else(|| "--key FILE is required: the application's private key".to_owned())
    }

    /// The key file's name for messages.
    pub fn key_label(&self) -> String {
        self.key
            .as_deref()
            .map_or_else(|| "the key".to_owned(), |p| p.display().to_string())
    }

    /// The `kid` choice the flags make.
    pub fn kid_choice(&self) -> Kid {
        match (&self.kid, self.no_kid) {
            (_, true) => Kid::Omit,
            (Some(kid), false) => Kid::Explicit(kid.clone()),
            (None, false) => Kid::Thumbprint,
        }
    }

    pub fn signer(&self) -> Result<AssertionSigner, String> {
        let key = PrivateKey::from_pem(&self.key_pem()?)
            .map_err(|e| format!("{}: {e}", self.key_label()))?;
        let mut signer = AssertionSigner::new(key, &self.client_id, &self.issuer)
            .map_err(|e| e.to_string())?
            .with_kid(self.kid_choice())
            .with_typ(self.typ);
        if let Some(alg) = self.alg {
            signer = signer
                .with_alg(alg)
                .map_err(|e| format!("--alg {alg} with {}: {e}", self.key_label()))?;
        }
        Ok(signer)
    }
}

fn read_key_file(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.len() > signet_client::MAX_PEM_LEN as u64 {
        return Err(format!(
            "{shown} is {} bytes long; a PEM private key is at most {} bytes",
            meta.len(),
            signet_client::MAX_PEM_LEN
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        // Not refused: the key works either way, and refusing would break setups where a
        // secrets manager mounts the file with its own idea of permissions.
        if mode & 0o077 != 0 {
            eprintln!(
                "signet: warning: {shown} can be read by other users (mode {mode:o}); \
                 chmod 600 it"
            );
        }
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    String::from_utf8(bytes).map_err(|_| {
        format!("{shown} is not a text file; expected a PEM private key (DER keys: convert with openssl pkey -inform DER -in KEY -out key.pem)")
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::ClientArgs;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        client: ClientArgs,
    }

    #[test]
    fn a_kid_that_begins_with_a_hyphen_is_a_kid() {
        let cli = Cli::try_parse_from([
            "signet",
            "--issuer",
            "https://tenant.example/",
            "--client-id",
            "app",
            "--kid",
            "-BDYBFZ45H48IlGEFKyDAzhUN3oPMLbp8xjGx-ePwfk",
        ])
        .unwrap();
        assert_eq!(
            cli.client.kid.as_deref(),
            Some("-BDYBFZ45H48IlGEFKyDAzhUN3oPMLbp8xjGx-ePwfk")
        );
    }
}
