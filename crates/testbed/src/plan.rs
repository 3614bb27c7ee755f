//! The address plan: node names, roles, addresses, MACs and service-node pools of a bed.
//!
//! Pure functions, no I/O. Everything a bed builds is derived from a [`Plan`].

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// Most service nodes a bed can have.
pub const MAX_SNS: usize = 50;
/// Most compute nodes a bed can have (one Linux bridge holds at most 1024 ports).
pub const MAX_CNS: usize = 1000;
/// Compute nodes per `rackN` group in the cluster DB.
pub const RACK_SIZE: usize = 4;
/// Netmask of the management network (`10.B.0.0/24`).
pub const MGMT_MASK: Ipv4Addr = Ipv4Addr::new(255, 255, 255, 0);
/// Prefix length of the management network.
pub const MGMT_PREFIX: u8 = 24;
/// Netmask of the compute network (`10.B.16.0/20`).
pub const COMPUTE_MASK: Ipv4Addr = Ipv4Addr::new(255, 255, 240, 0);
/// Prefix length of the compute network.
pub const COMPUTE_PREFIX: u8 = 20;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The management node `mn` (management network only).
    Mn,
    /// A service node `snK` (management and compute networks).
    Sn,
    /// A compute node `cnK` (compute network only).
    Cn,
    /// The single namespace of a scale bed (loopback only).
    Scale,
}

/// Which DHCP server the service nodes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Dhcp {
    /// ISC dhcpd (`isc-dhcp-server`).
    #[default]
    Isc,
    /// Kea (`kea-dhcp4-server`).
    Kea,
}

impl std::str::FromStr for Dhcp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "isc" | "dhcpd" => Ok(Dhcp::Isc),
            "kea" => Ok(Dhcp::Kea),
            _ => Err(format!("unknown DHCP server {s:?} (want isc or kea)")),
        }
    }
}

impl std::fmt::Display for Dhcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dhcp::Isc => "isc",
            Dhcp::Kea => "kea",
        })
    }
}

/// One node of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Node name (`mn`, `sn1`, `cn12`, `scale`).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Index within its role (1-based; 0 for mn and scale).
    pub index: usize,
    /// Network namespace name (`bt-<bed>-<node>`).
    pub netns: String,
    /// Address on the management network (`eth0` of mn and SNs).
    pub mgmt_ip: Option<Ipv4Addr>,
    /// Address on the compute network (`eth1` of SNs, `eth0` of CNs).
    pub compute_ip: Option<Ipv4Addr>,
    /// MAC of the compute NIC (CNs: `eth0`, SNs: `eth1`).
    pub compute_mac: Option<String>,
    /// MAC of the management NIC (mn and SNs: `eth0`).
    pub mgmt_mac: Option<String>,
    /// For CNs: the service-node pool, primary first (`noderes.servicenode`).
    pub servicenodes: Vec<String>,
    /// For CNs: the `rackN` group.
    pub rack: Option<String>,
}

impl NodeInfo {
    /// The compute-facing alias of a service node (`sn1-eth1`).
    pub fn compute_alias(&self) -> Option<String> {
        (self.role == Role::Sn).then(|| format!("{}-eth1", self.name))
    }
    /// The address other nodes use to reach this node over SSH from its own network.
    pub fn ssh_ip(&self) -> Ipv4Addr {
        self.mgmt_ip
            .or(self.compute_ip)
            .unwrap_or(Ipv4Addr::LOCALHOST)
    }
    /// Primary service node of a CN.
    pub fn primary_sn(&self) -> Option<&str> {
        self.servicenodes.first().map(|s| s.as_str())
    }
}

/// The address plan of a cluster bed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Bed name (`[a-z0-9]{1,10}`).
    pub name: String,
    /// Second octet of every address of the bed (`10.B.x.y`).
    pub octet: u8,
    /// DNS domain of the cluster.
    pub domain: String,
    /// All nodes: mn, sn1..snK, cn1..cnN in this order.
    pub nodes: Vec<NodeInfo>,
}

/// Checks a bed name: 1 to 12 characters of `[a-z0-9]` (dashes would let names prefix each
/// other's namespace names, `bt-<name>-...`).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 12
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(format!(
            "bad bed name {name:?}: want 1 to 12 characters of a-z and 0-9"
        ));
    }
    Ok(())
}

/// Namespace prefix of a bed: `bt-<name>-`.
pub fn netns_prefix(name: &str) -> String {
    format!("bt-{name}-")
}

/// Name of the namespace that holds a bed's bridges.
pub fn switch_netns(name: &str) -> String {
    format!("{}sw", netns_prefix(name))
}

/// Default second octet for a bed name: 100 + (FNV-1a(name) mod 150). Beds never share a link,
/// so equal octets would still not collide; distinct ones just make logs easier to read.
pub fn default_octet(name: &str) -> u8 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    (100 + h % 150) as u8
}

/// Management network address `10.B.0.0`.
pub fn mgmt_net(octet: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, octet, 0, 0)
}

/// Compute network address `10.B.16.0`.
pub fn compute_net(octet: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, octet, 16, 0)
}

/// Compute address of `cnI`: `10.B.(17 + (I-1)/250).((I-1)%250 + 1)`.
pub fn cn_ip(octet: u8, i: usize) -> Ipv4Addr {
    let k = i - 1;
    Ipv4Addr::new(10, octet, (17 + k / 250) as u8, (k % 250 + 1) as u8)
}

fn mac(octet: u8, kind: u8, i: usize) -> String {
    format!(
        "02:b7:{:02x}:{:02x}:{:02x}:{:02x}",
        octet,
        kind,
        (i >> 8) & 0xff,
        i & 0xff
    )
}

impl Plan {
    /// Builds the plan of a cluster bed with `sns` service nodes and `cns` compute nodes.
    pub fn new(
        name: &str,
        octet: u8,
        sns: usize,
        cns: usize,
        domain: &str,
    ) -> Result<Plan, String> {
        check_name(name)?;
        if sns == 0 || sns > MAX_SNS {
            return Err(format!("--sns must be 1..={MAX_SNS}, not {sns}"));
        }
        if cns > MAX_CNS {
            return Err(format!("--cns must be 0..={MAX_CNS}, not {cns}"));
        }
        let prefix = netns_prefix(name);
        let mut nodes = vec![NodeInfo {
            name: "mn".into(),
            role: Role::Mn,
            index: 0,
            netns: format!("{prefix}mn"),
            mgmt_ip: Some(Ipv4Addr::new(10, octet, 0, 1)),
            compute_ip: None,
            compute_mac: None,
            mgmt_mac: Some(mac(octet, 4, 0)),
            servicenodes: vec![],
            rack: None,
        }];
        for k in 1..=sns {
            nodes.push(NodeInfo {
                name: format!("sn{k}"),
                role: Role::Sn,
                index: k,
                netns: format!("{prefix}sn{k}"),
                mgmt_ip: Some(Ipv4Addr::new(10, octet, 0, (10 + k) as u8)),
                compute_ip: Some(Ipv4Addr::new(10, octet, 16, (10 + k) as u8)),
                compute_mac: Some(mac(octet, 2, k)),
                mgmt_mac: Some(mac(octet, 3, k)),
                servicenodes: vec![],
                rack: None,
            });
        }
        for i in 1..=cns {
            let primary = (i - 1) % sns + 1;
            let mut pool = vec![format!("sn{primary}")];
            if sns > 1 {
                pool.push(format!("sn{}", primary % sns + 1));
            }
            nodes.push(NodeInfo {
                name: format!("cn{i}"),
                role: Role::Cn,
                index: i,
                netns: format!("{prefix}cn{i}"),
                mgmt_ip: None,
                compute_ip: Some(cn_ip(octet, i)),
                compute_mac: Some(mac(octet, 1, i)),
                mgmt_mac: None,
                servicenodes: pool,
                rack: Some(format!("rack{}", (i - 1) / RACK_SIZE + 1)),
            });
        }
        Ok(Plan {
            name: name.into(),
            octet,
            domain: domain.into(),
            nodes,
        })
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.name == name)
    }
    /// Service nodes in order.
    pub fn sns(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.iter().filter(|n| n.role == Role::Sn)
    }
    /// Compute nodes in order.
    pub fn cns(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.iter().filter(|n| n.role == Role::Cn)
    }
    /// The management node.
    pub fn mn(&self) -> &NodeInfo {
        &self.nodes[0]
    }
    /// CNs whose primary service node is `sn`.
    pub fn cns_of<'a>(&'a self, sn: &'a str) -> impl Iterator<Item = &'a NodeInfo> + 'a {
        self.cns().filter(move |c| c.primary_sn() == Some(sn))
    }
    /// Resolves a node name, SN alias (`sn1-eth1`), FQDN or dotted IP to an address, the way the
    /// bed's `/etc/hosts` does.
    pub fn resolve(&self, host: &str) -> Option<Ipv4Addr> {
        if let Ok(ip) = host.parse() {
            return Some(ip);
        }
        let short = host
            .strip_suffix(&format!(".{}", self.domain))
            .unwrap_or(host);
        for n in &self.nodes {
            if n.name == short {
                return Some(n.ssh_ip());
            }
            if n.compute_alias().as_deref() == Some(short) {
                return n.compute_ip;
            }
        }
        None
    }
    /// The node (and whether it is its compute side) that owns an address.
    pub fn owner_of(&self, ip: Ipv4Addr) -> Option<&NodeInfo> {
        self.nodes
            .iter()
            .find(|n| n.mgmt_ip == Some(ip) || n.compute_ip == Some(ip))
    }
    /// Lines of the cluster's `/etc/hosts` (after the localhost lines), in xCAT makehosts style:
    /// `IP  long short`.
    pub fn hosts_lines(&self) -> String {
        let d = &self.domain;
        let mut s = String::new();
        for n in &self.nodes {
            let ip = n.ssh_ip();
            s.push_str(&format!("{ip} {}.{d} {}\n", n.name, n.name));
            if let (Some(alias), Some(cip)) = (n.compute_alias(), n.compute_ip) {
                s.push_str(&format!("{cip} {alias}.{d} {alias}\n"));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_addresses_and_pools() {
        let p = Plan::new("tb", 120, 2, 5, "cluster.test").unwrap();
        assert_eq!(p.nodes.len(), 8);
        assert_eq!(p.mn().mgmt_ip, Some(Ipv4Addr::new(10, 120, 0, 1)));
        let sn2 = p.node("sn2").unwrap();
        assert_eq!(sn2.mgmt_ip, Some(Ipv4Addr::new(10, 120, 0, 12)));
        assert_eq!(sn2.compute_ip, Some(Ipv4Addr::new(10, 120, 16, 12)));
        assert_eq!(sn2.netns, "bt-tb-sn2");
        let cn1 = p.node("cn1").unwrap();
        assert_eq!(cn1.compute_ip, Some(Ipv4Addr::new(10, 120, 17, 1)));
        assert_eq!(cn1.servicenodes, vec!["sn1", "sn2"]);
        assert_eq!(p.node("cn2").unwrap().servicenodes, vec!["sn2", "sn1"]);
        assert_eq!(p.node("cn5").unwrap().rack.as_deref(), Some("rack2"));
        assert_eq!(cn1.compute_mac.as_deref(), Some("02:b7:78:01:00:01"));
        assert_eq!(p.cns_of("sn1").count(), 3);
        assert_eq!(p.resolve("sn1-eth1"), Some(Ipv4Addr::new(10, 120, 16, 11)));
        assert_eq!(
            p.resolve("sn1.cluster.test"),
            Some(Ipv4Addr::new(10, 120, 0, 11))
        );
        assert_eq!(p.resolve("cn2"), Some(Ipv4Addr::new(10, 120, 17, 2)));
        assert!(p
            .hosts_lines()
            .contains("10.120.16.11 sn1-eth1.cluster.test sn1-eth1\n"));
    }

    #[test]
    fn big_plans_stay_in_the_compute_net() {
        assert_eq!(cn_ip(7, 250), Ipv4Addr::new(10, 7, 17, 250));
        assert_eq!(cn_ip(7, 251), Ipv4Addr::new(10, 7, 18, 1));
        assert_eq!(cn_ip(7, 1000), Ipv4Addr::new(10, 7, 20, 250));
        let p = Plan::new("x", 7, 1, 1, "c.test").unwrap();
        assert_eq!(p.node("cn1").unwrap().servicenodes, vec!["sn1"]);
    }

    #[test]
    fn names() {
        assert!(check_name("tb1").is_ok());
        assert!(check_name("a-b").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("abcdefghijkl").is_ok());
        assert!(check_name("abcdefghijklm").is_err());
        assert_eq!(default_octet("tb"), default_octet("tb"));
        assert!((100..250).contains(&default_octet("anything")));
    }
}
