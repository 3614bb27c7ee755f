//! `baton watch`: probe every service node (ssh, and the sockets of DHCP, TFTP, NTP and
//! syslog) each interval; after `threshold` failed rounds in a row declare it down, run the
//! site's fencing hook, and spread its nodes over the other members of each node's pool with
//! takeover's balancer, never to an SN that is failing; when it returns, run the steps still
//! pending on it (its DHCP, boot and console cleanup). Health goes to a state file (for `baton
//! status`) and to a Prometheus endpoint.
//!
//! Invariants: only the watcher holding the single-watcher lock acts (report-only watchers
//! never act); an SN is taken over at most once per down period, and one that returns is not
//! moved back, so a flapping SN cannot cause a storm of moves; every move is an ordinary
//! journal entry.

pub mod actions;
pub mod fence;
pub mod health;
pub mod metrics;
pub mod probe;
pub mod status;
pub mod watcher;

pub use watcher::{Actions, Config, Event, Watcher};
