//! Shared by the takeover tests: planning without a network.

use std::net::IpAddr;

/// Resolves nothing and reaches no service node: plans use `--offline` addresses.
pub struct Offline;

impl takeover::Env for Offline {
    fn resolve_local(&self, _: &str) -> Option<IpAddr> {
        None
    }
    fn resolve_dns(&self, _: &str) -> Option<IpAddr> {
        None
    }
    fn sn_addresses(&self, sn: &str) -> Result<Vec<IpAddr>, String> {
        Err(format!("{sn}: offline test"))
    }
}
