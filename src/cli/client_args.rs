//! The settings `signet assertion` and `signet token` share: who the application is, which
//! server it talks to, and the key it signs with.

use std::path::{Path, PathBuf};

use clap::Args;
use signet_client::{Alg, AssertionSigner, PrivateKey};

#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The server's issuer, exactly as it publishes it (e.g. `https://tenant.example.com/`,
    /// trailing slash included): the assertion's `aud`.
    #[arg(long)]
    pub issuer: String,

    /// The application's client id: the assertion's `iss` and `sub`.
    #[arg(long)]
    pub client_id: String,

    /// The application's RSA private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`) PEM.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,

    /// Signature algorithm; must be the credential's `alg`.
    #[arg(long, default_value = "RS256", value_parser = parse_alg)]
    pub alg: Alg,

    /// `kid` header naming the credential. Default: none (the server tries each of the
    /// application's credentials).
    #[arg(long)]
    pub kid: Option<String>,
}

fn parse_alg(s: &str) -> Result<Alg, String> {
    s.parse().map_err(|e: signet_client::Error| e.to_string())
}

impl ClientArgs {
    /// The key file's text; refuses anything too large to be a key before reading it.
    pub fn key_pem(&self) -> Result<String, String> {
        read_key_file(&self.key)
    }

    pub fn signer(&self) -> Result<AssertionSigner, String> {
        let key = PrivateKey::from_pem(&self.key_pem()?)
            .map_err(|e| format!("{}: {e}", self.key.display()))?;
        AssertionSigner::new(key, &self.client_id, &self.issuer)
            .map(|s| s.with_alg(self.alg).with_kid(self.kid.clone()))
            .map_err(|e| e.to_string())
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
