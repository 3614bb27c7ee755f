//! Compute-node configuration, in the shapes xCAT's postscripts leave.

/// The forwarding block xCAT's `syslog` postscript puts in `/etc/rsyslog.d/remote.conf`
/// (`@` is UDP/514); `master` is the node's xcatmaster as stored.
pub fn syslog_block(master: &str) -> String {
    format!(
        "# xCAT settings START\n\
         # Entries between the START and END lines will be replaced on the next xCAT install or update\n\
         *.* @{master}\n\
         # xCAT settings END\n"
    )
}

/// NTP servers as `setupntp` chooses them: `site.ntpservers` with `<xcatmaster>` replaced by the
/// node's master; empty means the master alone. Repeats are dropped.
pub fn ntp_servers(site_ntpservers: Option<&str>, master: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in site_ntpservers
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let s = if s == "<xcatmaster>" { master } else { s };
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    if out.is_empty() {
        out.push(master.to_string());
    }
    out
}

/// chrony `server` lines for the given servers.
pub fn chrony_servers(servers: &[String]) -> String {
    servers
        .iter()
        .map(|s| format!("server {s} iburst\n"))
        .collect()
}

/// `/etc/resolv.conf` as `mkresolvconf` writes it: `search <domain>`, then a nameserver per entry
/// of `site.nameservers` (`<xcatmaster>` = the master's address, repeats dropped), or the master's
/// address alone.
pub fn resolv_conf(
    domain: Option<&str>,
    site_nameservers: Option<&str>,
    master_ip: &str,
) -> String {
    let mut out = String::new();
    if let Some(d) = domain.filter(|d| !d.is_empty()) {
        out.push_str(&format!("search {d}\n"));
    }
    let mut seen: Vec<String> = Vec::new();
    for s in site_nameservers
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let s = if s == "<xcatmaster>" { master_ip } else { s };
        if !seen.iter().any(|x| x == s) {
            seen.push(s.to_string());
        }
    }
    if seen.is_empty() {
        seen.push(master_ip.to_string());
    }
    for s in seen {
        out.push_str(&format!("nameserver {s}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_block_is_xcats() {
        let b = syslog_block("10.1.0.2");
        assert!(b.starts_with("# xCAT settings START\n"));
        assert!(b.contains("\n*.* @10.1.0.2\n"));
        assert!(b.ends_with("# xCAT settings END\n"));
    }

    #[test]
    fn ntp_and_resolv_substitute_xcatmaster() {
        assert_eq!(
            ntp_servers(Some("<xcatmaster>,ntp.example,<xcatmaster>"), "sn2"),
            ["sn2", "ntp.example"]
        );
        assert_eq!(ntp_servers(None, "sn2"), ["sn2"]);
        assert_eq!(
            chrony_servers(&["a".into(), "b".into()]),
            "server a iburst\nserver b iburst\n"
        );
        assert_eq!(
            resolv_conf(Some("cluster"), Some("<xcatmaster>,8.8.8.8"), "10.1.0.2"),
            "search cluster\nnameserver 10.1.0.2\nnameserver 8.8.8.8\n"
        );
        assert_eq!(resolv_conf(None, None, "10.1.0.2"), "nameserver 10.1.0.2\n");
    }
}
