//! Files that hold secrets or sealed data (the database, its backups, the master key) are
//! created readable by their owner only, and never over an existing file.

use std::fs::File;
use std::io;
use std::path::Path;

/// Creates `path`, mode 0600 on Unix; fails with `AlreadyExists` when it exists.
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}
