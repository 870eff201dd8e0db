//! certgate's files hold secrets: the database (password hashes, sealed EAB
//! keys and CA keys, the audit log), its WAL, the demo's secret key, TLS
//! keys. Every file and directory the process creates is private to its
//! user, and an existing one that others may read is reported at start.

use std::path::Path;

/// Makes every file the process creates from now on private to its user
/// (0600, directories 0700), whatever the umask it was started with;
/// SQLite's WAL and shared-memory files included.
pub fn restrict_new_files() {
    #[cfg(unix)]
    // SAFETY: umask only swaps the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// Logs a warning for each of `paths` that exists and that its group or
/// other users may access; returns those paths, for the tests.
pub fn warn_if_exposed<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Vec<&'a Path> {
    let mut exposed = Vec::new();
    #[cfg(unix)]
    for path in paths {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(meta) = std::fs::metadata(path) else { continue };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let private = if meta.is_dir() { "700" } else { "600" };
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "readable by other users: it holds secrets; chmod {private} it"
            );
            exposed.push(path);
        }
    }
    exposed
}
