//! `signet keygen`: makes an application's key pair for an algorithm (RSA for RS256, RS384 and
//! PS256; EC P-256, EC P-384 or Ed25519 for ES256, ES384 and EdDSA), optionally a self-signed
//! certificate, and a one-key `jwks.json` to serve as a `jwks_uri`; writes them to a directory
//! without ever overwriting a file, and prints the kid and the body for
//! `POST /api/v2/clients/{id}/credentials`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde_json::json;
use signet_client::{Alg, KeyType};
use time::OffsetDateTime;

use super::key_material::{self, CertificateSpec, KeyBits};

pub const PRIVATE_KEY_FILE: &str = "private_key.pem";
pub const PUBLIC_KEY_FILE: &str = "public_key.pem";
pub const CERTIFICATE_FILE: &str = "certificate.pem";
pub const CREDENTIAL_FILE: &str = "credential.json";
pub const JWKS_FILE: &str = "jwks.json";

#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// The algorithm, which decides the key type: RS256, RS384, PS256 (RSA), ES256 (EC P-256),
    /// ES384 (EC P-384) or EdDSA (Ed25519). Written into the credential body and the JWKS.
    /// ES256, ES384 and EdDSA are signet extensions: Auth0 takes only RSA keys.
    #[arg(long, default_value = "RS256", value_parser = parse_alg)]
    pub alg: Alg,

    /// RSA modulus size (default 2048); RSA algorithms only.
    #[arg(long, value_enum)]
    pub bits: Option<KeyBits>,

    /// Also make a self-signed X.509 certificate; it is then what the credential body uploads,
    /// with its notAfter as the credential's expiry.
    #[arg(long)]
    pub cert: bool,

    /// Certificate validity in days.
    #[arg(long, default_value_t = 365, requires = "cert",
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,

    /// Certificate subject, `CN=app,O=Example` or `/CN=app/O=Example`. Default: `CN=<name>`.
    #[arg(long, requires = "cert")]
    pub subject: Option<String>,

    /// The credential's name in the request body. Default: the output directory's name.
    #[arg(long)]
    pub name: Option<String>,

    /// Directory for the files (created if missing). Existing files are never overwritten.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

fn parse_alg(s: &str) -> Result<Alg, String> {
    s.parse().map_err(|e: signet_client::Error| e.to_string())
}

pub fn run(args: KeygenArgs) -> ExitCode {
    match keygen(&args) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("signet keygen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn keygen(args: &KeygenArgs) -> Result<String, String> {
    let name = match &args.name {
        Some(n) => n.clone(),
        None => default_name(&args.out),
    };
    if name.chars().count() > 128 {
        return Err("--name is longer than 128 characters".into());
    }
    let key_type = args.alg.key_type();
    let bits = match (args.bits, key_type) {
        (Some(bits), KeyType::Rsa) => bits,
        (None, _) => KeyBits::B2048,
        (Some(_), other) => {
            return Err(format!(
                "--bits is for RSA keys; {} uses an {other} key, whose size the curve fixes",
                args.alg
            ));
        }
    };
    let certificate = if args.cert {
        let subject = args.subject.clone().unwrap_or_else(|| format!("CN={name}"));
        Some(CertificateSpec {
            subject: key_material::parse_subject(&subject)
                .map_err(|e| format!("--subject: {e}"))?,
            days: args.days,
        })
    } else {
        None
    };

    let dir = &args.out;
    let mut files = vec![
        dir.join(PRIVATE_KEY_FILE),
        dir.join(PUBLIC_KEY_FILE),
        dir.join(CREDENTIAL_FILE),
        dir.join(JWKS_FILE),
    ];
    if args.cert {
        files.push(dir.join(CERTIFICATE_FILE));
    }
    // Checked up front so that a refusal leaves nothing half-written; `create_new` below still
    // guards against a file appearing in between.
    let existing: Vec<String> = files
        .iter()
        .filter(|f| f.symlink_metadata().is_ok())
        .map(|f| f.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(format!(
            "refusing to overwrite {}; choose another --out directory or move the files away",
            existing.join(", ")
        ));
    }

    let material = key_material::generate(
        args.alg,
        bits,
        certificate.as_ref(),
        OffsetDateTime::now_utc(),
    )?;
    let mut body = json!({
        "name": name,
        "credential_type": "public_key",
        "pem": material.certificate_pem.as_deref().unwrap_or(&material.public_pem),
        "alg": args.alg.as_str(),
    });
    if material.certificate_pem.is_some() {
        body["parse_expiry_from_cert"] = json!(true);
    }
    let body = serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?;
    let jwks = serde_json::to_string_pretty(&json!({"keys": [material.jwk]}))
        .map_err(|e| e.to_string())?;

    create_dir(dir)?;
    write_new(&files[0], &material.private_pem, 0o600)?;
    write_new(&files[1], &material.public_pem, 0o644)?;
    write_new(&files[2], &format!("{body}\n"), 0o644)?;
    write_new(&files[3], &format!("{jwks}\n"), 0o644)?;
    if let Some(cert) = &material.certificate_pem {
        write_new(&files[4], cert, 0o644)?;
    }

    let described = match material.key_type {
        KeyType::Rsa => format!("RSA-{}", material.bits),
        other => other.to_string(),
    };
    let mut report = format!(
        "kid: {}\nalg: {}\nprivate key: {} (PKCS#8, {described}, mode 0600; keep it secret, it \
         never leaves the application)\npublic key: {}\njwks: {} (the public key as a JWKS, to \
         serve at an HTTPS URL for a jwks_uri credential)\n",
        material.kid,
        args.alg,
        files[0].display(),
        files[1].display(),
        files[3].display(),
    );
    if let (Some(path), Some(not_after)) = (files.get(4), material.not_after) {
        report.push_str(&format!(
            "certificate: {} (self-signed, valid until {})\n",
            path.display(),
            not_after.date()
        ));
    }
    report.push_str(&format!(
        "\nBody for POST /api/v2/clients/{{id}}/credentials (also in {}):\n{body}\n",
        files[2].display()
    ));
    Ok(report)
}

fn default_name(dir: &Path) -> String {
    dir.file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .unwrap_or("signet-keygen")
        .to_owned()
}

fn create_dir(dir: &Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Writes a file that must not exist yet, with `mode` from the first byte on (so the private
/// key is never readable by others, not even briefly).
fn write_new(path: &Path, contents: &str, mode: u32) -> Result<(), String> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            format!("refusing to overwrite {}", path.display())
        }
        _ => format!("cannot create {}: {e}", path.display()),
    })?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
