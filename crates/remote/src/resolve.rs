//! Host name resolution as xCAT sees it: the system's hosts file, then DNS.

use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};

/// Resolves names through /etc/hosts (read once) and then the system resolver (DNS).
pub struct SystemResolver {
    hosts: HashMap<String, IpAddr>,
    use_dns: bool,
}

impl SystemResolver {
    pub fn new(use_dns: bool) -> Self {
        let text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        Self::with_hosts(&text, use_dns)
    }

    /// With `text` as the hosts file.
    pub fn with_hosts(text: &str, use_dns: bool) -> Self {
        SystemResolver {
            hosts: parse_hosts(text),
            use_dns,
        }
    }

    /// An address from the hosts file only.
    pub fn from_hosts_file(&self, name: &str) -> Option<IpAddr> {
        self.hosts.get(name).copied()
    }

    /// An address from DNS (getaddrinfo), IPv4 preferred. Only for names the hosts file lacks.
    pub fn from_dns(&self, name: &str) -> Option<IpAddr> {
        if !self.use_dns || !crate::is_valid_host(name) {
            return None;
        }
        let addrs: Vec<IpAddr> = (name, 0).to_socket_addrs().ok()?.map(|a| a.ip()).collect();
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
    }
}

/// `/etc/hosts`: the first address given for a name wins, as in glibc.
pub fn parse_hosts(text: &str) -> HashMap<String, IpAddr> {
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) else {
            continue;
        };
        for name in words {
            map.entry(name.to_string()).or_insert(ip);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_first_entry_wins() {
        let m = parse_hosts(
            "10.0.0.1 sn1 sn1.cluster # mgmt\n10.1.0.1 sn1-eth1\n10.0.0.9 sn1\nbogus line\n",
        );
        assert_eq!(m["sn1"].to_string(), "10.0.0.1");
        assert_eq!(m["sn1.cluster"].to_string(), "10.0.0.1");
        assert_eq!(m["sn1-eth1"].to_string(), "10.1.0.1");
        assert!(!m.contains_key("mgmt"));
    }
}
