//! Reading a file a user named (a `^file` noderange, a cfgloc, a CSV or stanza file, a state
//! file): only a regular file, and only up to a size, so that `/dev/zero`, a FIFO or a
//! directory gives a clear error at once instead of a hang or a process that grows without end.

use std::io::Read;
use std::path::Path;

/// Create `dir` (and its parents) readable by its owner only: it holds the cluster database.
pub fn private_dir(dir: &Path) -> crate::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| crate::Error::Store(format!("cannot create directory {}: {e}", dir.display())))
}

/// Up to this much for a list of names (`^file`), a cfgloc or a state file.
pub const SMALL: u64 = 64 << 20;
/// Up to this much for table data (CSV, stanza files).
pub const LARGE: u64 = 4 << 30;

/// The text of the regular file `path`, if it is at most `max` bytes.
pub fn read_text(path: &Path, max: u64) -> std::io::Result<String> {
    let err = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    if meta.len() > max {
        return Err(err(format!("larger than {max} bytes")));
    }
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > max {
        return Err(err(format!("larger than {max} bytes")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_big_files_are_refused() {
        for p in ["/dev/zero", "/dev/urandom", "/tmp", "/nonexistent/x"] {
            assert!(read_text(Path::new(p), SMALL).is_err(), "{p}");
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("names");
        std::fs::write(&f, "cn1\ncn2\n").unwrap();
        assert_eq!(read_text(&f, SMALL).unwrap(), "cn1\ncn2\n");
        let e = read_text(&f, 4).unwrap_err();
        assert!(e.to_string().contains("larger than 4 bytes"), "{e}");
    }
}
