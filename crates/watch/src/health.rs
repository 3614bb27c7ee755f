//! The health of one service node, from consecutive probe results. Pure: the watcher feeds it
//! one observation per round and acts on the transitions it returns.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Not probed yet.
    Unknown,
    Up,
    /// Failed its last probes, fewer than the threshold.
    Failing,
    /// Failed `threshold` probes in a row; stays down until it passes `threshold` in a row.
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Failing => "failing",
            Health::Down => "down",
        }
    }
}

/// What one observation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    /// First failure after being up.
    Failing,
    /// Back to up before reaching the threshold.
    Recovered,
    /// Reached the threshold: declared down.
    Down,
    /// Was down, passed the threshold again: it has returned.
    Returned,
}

/// One probe round's result for one service node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// check name (ssh, dhcp, tftp, ntp, syslog) → passed.
    pub checks: BTreeMap<String, bool>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The compute side, as this SN saw it: its own compute interfaces' state (address →
    /// operstate), and its pings of its peers' compute addresses (address → answered).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pings: BTreeMap<String, bool>,
    /// Its peers' sshd on their compute addresses, as this SN reached it (address → answered):
    /// proof that a peer's userspace is alive on the compute side, which a ping is not.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answers: BTreeMap<String, bool>,
    /// The IPv4 addresses this SN holds (`ip -o -4 addr`), as it reported them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub addrs: std::collections::BTreeSet<String>,
}

impl Observation {
    pub fn ok(&self) -> bool {
        self.error.is_none() && !self.checks.is_empty() && self.checks.values().all(|v| *v)
    }
}

/// A service node's health as the watcher tracks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnHealth {
    pub health: Health,
    /// Consecutive failed rounds.
    pub failures: u32,
    /// Consecutive passed rounds.
    pub successes: u32,
    pub last: Observation,
    /// Unix time of the last health change.
    pub since: u64,
    /// The takeover for the current down period is done (or there was nothing to move).
    pub handled: bool,
    /// Fenced in the current down period (fencing runs at most once per down period).
    #[serde(default)]
    pub fenced: bool,
    /// Unix time of the last probe round.
    #[serde(default)]
    pub last_probe: u64,
}

impl Default for SnHealth {
    fn default() -> Self {
        SnHealth {
            health: Health::Unknown,
            failures: 0,
            successes: 0,
            last: Observation::default(),
            since: 0,
            handled: false,
            fenced: false,
            last_probe: 0,
        }
    }
}

impl SnHealth {
    /// Record one round. Down takes `threshold` failures in a row, and so does coming back:
    /// an SN that flaps faster than that neither goes down nor returns.
    pub fn observe(&mut self, obs: Observation, threshold: u32, now: u64) -> Transition {
        let threshold = threshold.max(1);
        let ok = obs.ok();
        self.last = obs;
        self.last_probe = now;
        let before = self.health;
        let t = if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            match before {
                Health::Down if self.successes >= threshold => {
                    self.health = Health::Up;
                    Transition::Returned
                }
                Health::Down => Transition::None,
                Health::Failing => {
                    self.health = Health::Up;
                    Transition::Recovered
                }
                Health::Unknown => {
                    self.health = Health::Up;
                    Transition::None
                }
                Health::Up => Transition::None,
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            match before {
                Health::Down => Transition::None,
                _ if self.failures >= threshold => {
                    self.health = Health::Down;
                    self.handled = false;
                    self.fenced = false;
                    Transition::Down
                }
                Health::Failing => Transition::None,
                Health::Up | Health::Unknown => {
                    self.health = Health::Failing;
                    Transition::Failing
                }
            }
        };
        if self.health != before {
            self.since = now;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(ok: bool) -> Observation {
        Observation {
            checks: [("ssh".to_string(), ok)].into(),
            error: (!ok).then(|| "connection refused".into()),
            ..Default::default()
        }
    }

    fn run(h: &mut SnHealth, seq: &str) -> Vec<Transition> {
        seq.chars()
            .map(|c| h.observe(obs(c == '+'), 3, 0))
            .filter(|t| *t != Transition::None)
            .collect()
    }

    #[test]
    fn down_after_the_threshold_and_back_after_as_many_passes() {
        let mut h = SnHealth::default();
        assert_eq!(
            run(&mut h, "+--"),
            [Transition::Failing],
            "two failures are not enough"
        );
        assert_eq!(h.health, Health::Failing);
        assert_eq!(run(&mut h, "-"), [Transition::Down]);
        assert_eq!(run(&mut h, "---++"), []);
        assert_eq!(h.health, Health::Down);
        assert_eq!(run(&mut h, "+"), [Transition::Returned]);
        assert_eq!(h.health, Health::Up);
    }

    #[test]
    fn flapping_faster_than_the_threshold_changes_nothing_big() {
        let mut h = SnHealth::default();
        let t = run(&mut h, "+-+-+--+--+-");
        assert!(!t.contains(&Transition::Down), "{t:?}");
        let mut h = SnHealth::default();
        run(&mut h, "+---");
        let t = run(&mut h, "+-++-+--++-");
        assert!(!t.contains(&Transition::Returned), "{t:?}");
        assert_eq!(h.health, Health::Down);
    }

    #[test]
    fn a_failed_service_check_is_a_failure() {
        let o = Observation {
            checks: [("ssh".to_string(), true), ("dhcp".to_string(), false)].into(),
            error: None,
            ..Default::default()
        };
        assert!(!o.ok());
        assert!(!Observation::default().ok(), "no check at all is no proof");
    }
}
