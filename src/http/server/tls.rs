//! HTTPS: the certificate and key of `--tls-cert`/`--tls-key`, served with rustls (aws-lc-rs,
//! ALPN `h2` and `http/1.1`), and replaced without a restart: on SIGHUP, and when either file
//! changes. New handshakes take the new certificate; open connections keep theirs. A reload that
//! fails keeps the certificate in use and says why; at start the same failure stops the server.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::{CryptoProvider, aws_lc_rs};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, InconsistentKeys, ServerConfig};

use crate::config::TlsFiles;

/// How often the files are looked at for a change (their size, times and inode).
pub const RELOAD_POLL: Duration = Duration::from_secs(2);

/// Larger files are not a certificate chain or a key: refused before they are parsed.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Why a certificate and key cannot be served. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} is larger than {MAX_PEM_BYTES} bytes: not a PEM certificate or key", path.display())]
    TooLarge { path: PathBuf },
    #[error("{} is not valid PEM: {reason}", path.display())]
    Pem { path: PathBuf, reason: String },
    #[error("{} holds no certificate (expected PEM `BEGIN CERTIFICATE` blocks, leaf first)", path.display())]
    NoCertificate { path: PathBuf },
    #[error(
        "{} holds no private key (expected PEM `BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY` or \
         `BEGIN EC PRIVATE KEY`)",
        path.display()
    )]
    NoKey { path: PathBuf },
    #[error("the private key in {} cannot be used: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("the key in {} does not belong to the certificate in {}", key.display(), cert.display())]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("the certificate in {} cannot be used: {reason}", path.display())]
    Certificate { path: PathBuf, reason: String },
}

/// The certificate new handshakes get; swapped whole by a reload.
#[derive(Debug)]
struct CurrentCertificate(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.0.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

/// The server's TLS side: the acceptor every connection shakes hands through, and the files it
/// reloads from.
pub struct Tls {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: Arc<CurrentCertificate>,
    acceptor: TlsAcceptor,
    /// The files as last loaded, so a change is seen however soon after the load it comes.
    seen: Mutex<Fingerprint>,
    /// SIGHUP, listened for from the load on, so that one sent as soon as the server says it
    /// is listening is not lost; taken by [`watch`].
    hangups: Mutex<Option<Hangups>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("files", &self.files).finish()
    }
}

impl Tls {
    /// Loads the certificate and key; any problem is an error naming the file and the cause.
    pub fn load(files: TlsFiles) -> Result<Self, CertError> {
        let provider = Arc::new(aws_lc_rs::default_provider());
        let seen = Fingerprint::of(&files);
        let certified = load_certified_key(&files, &provider)?;
        let current = Arc::new(CurrentCertificate(RwLock::new(Arc::new(certified))));
        let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| CertError::Certificate {
                path: files.cert.clone(),
                reason: e.to_string(),
            })?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        // Signals need the runtime; a load outside one (a unit test) listens from `watch` on.
        let hangups = tokio::runtime::Handle::try_current()
            .is_ok()
            .then(Hangups::listen);
        Ok(Self {
            files,
            provider,
            current,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            seen: Mutex::new(seen),
            hangups: Mutex::new(hangups),
        })
    }

    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// Reads the files again; on success new handshakes use what they hold, on failure the
    /// certificate in use stays.
    pub fn reload(&self) -> Result<(), CertError> {
        let seen = Fingerprint::of(&self.files);
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = seen;
        let certified = load_certified_key(&self.files, &self.provider)?;
        *self
            .current
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(certified);
        Ok(())
    }

    /// Whether either file has changed since it was last loaded (or tried).
    fn changed(&self) -> bool {
        let now = Fingerprint::of(&self.files);
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) != now
    }
}

/// Reloads `tls` on SIGHUP and when its files change, until the task is dropped.
pub async fn watch(tls: Arc<Tls>) {
    let mut tick = tokio::time::interval(RELOAD_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let taken = tls
        .hangups
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let mut hangups = taken.unwrap_or_else(Hangups::listen);
    loop {
        let cause = tokio::select! {
            _ = tick.tick() => {
                if !tls.changed() {
                    continue;
                }
                "the certificate or key file changed"
            }
            () = hangups.next() => "SIGHUP",
        };
        match tls.reload() {
            Ok(()) => tracing::info!(
                cert = %tls.files.cert.display(),
                cause,
                "reloaded the TLS certificate; new connections use it"
            ),
            Err(error) => tracing::warn!(
                %error,
                cause,
                "kept the TLS certificate in use: the new one cannot be loaded"
            ),
        }
    }
}

/// SIGHUP, where there is such a thing; never, elsewhere or when it cannot be listened for.
struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signal = signal(SignalKind::hangup())
                .inspect_err(|error| {
                    tracing::warn!(
                        %error,
                        "cannot listen for SIGHUP; the certificate is reloaded when its files change"
                    );
                })
                .ok();
            Self { signal }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal
            && signal.recv().await.is_some()
        {
            return;
        }
        std::future::pending::<()>().await;
    }
}

/// What tells one version of the files from the next without reading them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint([Option<FileStamp>; 2]);

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Inode and change time: a file renamed into place, or rewritten within the modification
    /// time's resolution at the same size, still differs.
    #[cfg(unix)]
    identity: (u64, u64, i64, i64),
}

impl Fingerprint {
    fn of(files: &TlsFiles) -> Self {
        Self([stamp(&files.cert), stamp(&files.key)])
    }
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        #[cfg(unix)]
        identity: {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec())
        },
    })
}

fn read_capped(path: &Path) -> Result<Vec<u8>, CertError> {
    let read_error = |source| CertError::Read {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes))
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(CertError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(bytes)
}

fn load_certified_key(
    files: &TlsFiles,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, CertError> {
    let cert_pem = read_capped(&files.cert)?;
    let key_pem = read_capped(&files.key)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CertError::Pem {
            path: files.cert.clone(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate {
            path: files.cert.clone(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => CertError::NoKey {
            path: files.key.clone(),
        },
        other => CertError::Pem {
            path: files.key.clone(),
            reason: other.to_string(),
        },
    })?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| CertError::Key {
            path: files.key.clone(),
            reason: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // A key whose public half the provider cannot show is checked at the first handshake.
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            Err(CertError::Mismatch {
                cert: files.cert.clone(),
                key: files.key.clone(),
            })
        }
        Err(other) => Err(CertError::Certificate {
            path: files.cert.clone(),
            reason: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair};

    struct Pair {
        _dir: tempfile::TempDir,
        files: TlsFiles,
    }

    fn self_signed(name: &str) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn write_pair(cert: &str, key: &str) -> Pair {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
        };
        std::fs::write(&files.cert, cert).unwrap();
        std::fs::write(&files.key, key).unwrap();
        Pair { _dir: dir, files }
    }

    fn leaf(tls: &Tls) -> Vec<u8> {
        tls.current.0.read().unwrap().cert[0].to_vec()
    }

    #[test]
    fn a_certificate_and_its_key_load() {
        let (cert, key) = self_signed("localhost");
        let pair = write_pair(&cert, &key);
        let tls = Tls::load(pair.files.clone()).unwrap();
        assert_eq!(leaf(&tls), pem::parse(&cert).unwrap().contents());
    }

    #[test]
    fn a_missing_file_is_named() {
        let (cert, key) = self_signed("localhost");
        let pair = write_pair(&cert, &key);
        std::fs::remove_file(&pair.files.key).unwrap();
        let error = Tls::load(pair.files.clone()).unwrap_err();
        assert!(matches!(error, CertError::Read { .. }), "{error}");
        assert!(error.to_string().contains("key.pem"), "{error}");
    }

    #[test]
    fn a_file_without_a_certificate_or_key_is_refused() {
        let (cert, key) = self_signed("localhost");
        let swapped = write_pair(&key, &cert);
        let error = Tls::load(swapped.files.clone()).unwrap_err();
        assert!(matches!(error, CertError::NoCertificate { .. }), "{error}");
        assert!(error.to_string().contains("cert.pem"), "{error}");
        let no_key = write_pair(&cert, &cert);
        let error = Tls::load(no_key.files.clone()).unwrap_err();
        assert!(matches!(error, CertError::NoKey { .. }), "{error}");
        assert!(error.to_string().contains("key.pem"), "{error}");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let (cert, _) = self_signed("localhost");
        let (_, other_key) = self_signed("localhost");
        let pair = write_pair(&cert, &other_key);
        let error = Tls::load(pair.files.clone()).unwrap_err();
        assert!(matches!(error, CertError::Mismatch { .. }), "{error}");
        let text = error.to_string();
        assert!(
            text.contains("key.pem") && text.contains("cert.pem"),
            "{text}"
        );
    }

    #[test]
    fn garbage_between_pem_markers_is_refused() {
        let (_, key) = self_signed("localhost");
        let pair = write_pair(
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            &key,
        );
        let error = Tls::load(pair.files.clone()).unwrap_err();
        assert!(
            matches!(error, CertError::Pem { .. } | CertError::Certificate { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_failed_reload_keeps_the_certificate_in_use_and_a_good_one_replaces_it() {
        let (cert, key) = self_signed("localhost");
        let pair = write_pair(&cert, &key);
        let tls = Tls::load(pair.files.clone()).unwrap();
        std::fs::write(&pair.files.cert, "not a certificate").unwrap();
        assert!(tls.changed());
        assert!(tls.reload().is_err());
        assert!(
            !tls.changed(),
            "a failed attempt is not retried until the files change"
        );
        assert_eq!(leaf(&tls), pem::parse(&cert).unwrap().contents());

        let (new_cert, new_key) = self_signed("localhost");
        std::fs::write(&pair.files.cert, &new_cert).unwrap();
        std::fs::write(&pair.files.key, &new_key).unwrap();
        assert!(tls.changed());
        tls.reload().unwrap();
        assert_eq!(leaf(&tls), pem::parse(&new_cert).unwrap().contents());
    }
}
