//! The watcher's state file: what it last saw of every service node, written atomically after
//! every round so `baton status` (another process) can show it without probing.

use crate::health::SnHealth;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the state file is unless told otherwise (`--state-file`, `BATON_WATCH_STATE`).
pub const DEFAULT_PATH: &str = "/run/baton/watch.json";

/// The path from the environment, else the default.
pub fn default_path() -> PathBuf {
    std::env::var_os("BATON_WATCH_STATE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| DEFAULT_PATH.into())
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnStatus {
    #[serde(flatten)]
    pub health: SnHealth,
    /// Nodes whose primary SN it is.
    pub nodes: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusFile {
    /// The watcher's process id.
    pub pid: u32,
    /// Unix time of the round this describes.
    pub updated: u64,
    /// Seconds between rounds (a reader judges staleness by it).
    pub interval_secs: f64,
    /// Holds the single-watcher lock and acts.
    pub active: bool,
    pub report_only: bool,
    /// Takeovers this watcher applied.
    pub takeovers: u64,
    /// More than half of the service nodes fail at once: the management node itself may be
    /// cut off, so the watcher acts on none of them.
    #[serde(default)]
    pub isolated: bool,
    /// The watcher has exited (it says so as it ends).
    #[serde(default)]
    pub stopped: bool,
    pub sns: BTreeMap<String, SnStatus>,
    /// Addresses held by an SN other than their owner (`--adopt-address`), from the journal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adopted: Vec<takeover::adopt::Held>,
}

impl StatusFile {
    /// Write atomically: a reader sees the old file or the new one, never half of one.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }

    /// The file, when it exists and was written within `max_age` seconds of `now`.
    pub fn read_fresh(path: &Path, now: u64, max_age: u64) -> Option<StatusFile> {
        let text = clusterdb::files::read_text(path, clusterdb::files::SMALL).ok()?;
        let s: StatusFile = serde_json::from_str(&text).ok()?;
        (now.saturating_sub(s.updated) <= max_age).then_some(s)
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_atomically_and_read_back_while_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/watch.json");
        let mut s = StatusFile {
            pid: 42,
            updated: 1000,
            interval_secs: 1.0,
            ..Default::default()
        };
        s.sns.insert(
            "sn1".into(),
            SnStatus {
                nodes: 3,
                ..Default::default()
            },
        );
        s.write(&p).unwrap();
        assert_eq!(StatusFile::read_fresh(&p, 1005, 10), Some(s.clone()));
        assert_eq!(StatusFile::read_fresh(&p, 1011, 10), None, "stale");
        std::fs::write(&p, "{not json").unwrap();
        assert_eq!(StatusFile::read_fresh(&p, 1000, 10), None);
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}
