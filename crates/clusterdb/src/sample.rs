//! A sample cluster, as xCAT tables in tabrestore CSV: what `baton quickstart` loads, and what
//! tests and benchmarks build their clusters from. Values live on group rows wherever xCAT sites
//! put them, so inheritance and value expressions are exercised from the first command.

use std::collections::BTreeMap;
use std::fmt::Write;

/// The shape of a sample cluster.
#[derive(Debug, Clone)]
pub struct SampleSpec {
    /// Compute nodes, named `cn0001`...
    pub nodes: usize,
    /// Rack groups (`rack01`...; `rack001`... from 100 racks), nodes spread in order.
    pub racks: usize,
    /// Service nodes `sn1`..`snK`; rack r is served by pool `sn(r%K+1),sn((r+1)%K+1)`.
    pub sns: usize,
}

impl Default for SampleSpec {
    fn default() -> Self {
        SampleSpec {
            nodes: 300,
            racks: 10,
            sns: 3,
        }
    }
}

fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Width of the node number, so names sort well (`cn0001`).
fn width(n: usize) -> usize {
    n.to_string().len().max(4)
}

impl SampleSpec {
    pub fn node_name(&self, i: usize) -> String {
        format!("cn{:0w$}", i, w = width(self.nodes))
    }

    pub fn rack_name(&self, r: usize) -> String {
        let w = self.racks.to_string().len().max(2);
        format!("rack{r:0w$}")
    }

    /// Rack (1-based) of node i (1-based).
    pub fn rack_of(&self, i: usize) -> usize {
        let per = self.nodes.div_ceil(self.racks.max(1)).max(1);
        (i - 1) / per + 1
    }

    /// The SN pool of rack r: primary then backup.
    pub fn pool(&self, r: usize) -> (usize, usize) {
        let k = self.sns.max(1);
        ((r - 1) % k + 1, r % k + 1)
    }

    /// table name → CSV text (tabrestore format).
    pub fn tables(&self) -> BTreeMap<&'static str, String> {
        let mut t = BTreeMap::new();
        let k = self.sns.max(1);

        let mut site = String::from("#key,value,comments,disable\n");
        for (key, value) in [
            ("master", "10.0.0.254"),
            ("domain", "cluster.example"),
            ("nameservers", "<xcatmaster>"),
            ("ntpservers", "<xcatmaster>"),
            ("sharedinstall", "no"),
            ("tftpdir", "/tftpboot"),
            ("installdir", "/install"),
            ("xcatdport", "3001"),
            ("baton-sample", "yes"),
        ] {
            writeln!(site, "{},{},,", q(key), q(value)).unwrap();
        }
        t.insert("site", site);

        let mut nodelist = String::from("#node,groups,status,comments,disable\n");
        writeln!(nodelist, "{},{},,,", q("mn"), q("mn,all")).unwrap();
        for s in 1..=k {
            writeln!(nodelist, "\"sn{s}\",{},,,", q("service,all")).unwrap();
        }
        for i in 1..=self.nodes {
            let r = self.rack_of(i);
            writeln!(
                nodelist,
                "{},{},\"booted\",,",
                q(&self.node_name(i)),
                q(&format!("{},compute,all", self.rack_name(r)))
            )
            .unwrap();
        }
        t.insert("nodelist", nodelist);

        let mut nodegroup = String::from("#groupname,grouptype,comments,disable\n");
        nodegroup.push_str("\"compute\",\"static\",\"all compute nodes\",\n\"service\",\"static\",\"service nodes\",\n");
        for r in 1..=self.racks {
            writeln!(nodegroup, "{},\"static\",,", q(&self.rack_name(r))).unwrap();
        }
        t.insert("nodegroup", nodegroup);

        // Hierarchy on rack rows; the compute row gives defaults.
        let mut noderes = String::from("#node,servicenode,netboot,tftpserver,nfsserver,monserver,xcatmaster,comments,disable\n");
        writeln!(
            noderes,
            "\"compute\",,\"xnba\",,,,,\"defaults for every compute node\","
        )
        .unwrap();
        for r in 1..=self.racks {
            let (p, b) = self.pool(r);
            let xm = format!("sn{p}-eth1");
            writeln!(
                noderes,
                "{},\"sn{p},sn{b}\",,{},{},\"sn{p},{xm}\",{},,",
                q(&self.rack_name(r)),
                q(&xm),
                q(&xm),
                q(&xm)
            )
            .unwrap();
        }
        t.insert("noderes", noderes);

        let mut nodehm = String::from(
            "#node,power,mgt,cons,conserver,serialport,serialspeed,comments,disable\n",
        );
        nodehm.push_str("\"compute\",\"ipmi\",\"ipmi\",\"ipmi\",,\"0\",\"115200\",,\n");
        for r in 1..=self.racks {
            let (p, _) = self.pool(r);
            writeln!(nodehm, "{},,,,\"sn{p}\",,,,", q(&self.rack_name(r))).unwrap();
        }
        t.insert("nodehm", nodehm);

        let mut nodetype =
            String::from("#node,os,arch,profile,provmethod,nodetype,comments,disable\n");
        nodetype.push_str("\"compute\",\"rhels9.4\",\"x86_64\",\"compute\",\"rhels9.4-x86_64-netboot-compute\",\"osi\",,\n");
        nodetype.push_str("\"service\",\"rhels9.4\",\"x86_64\",\"service\",\"rhels9.4-x86_64-install-service\",\"osi\",,\n");
        t.insert("nodetype", nodetype);

        // Node addresses by expression, on the compute network 10.64.0.0/10 (room for a million
        // nodes): 62,500 nodes per second octet, 250 per third.
        let mut hosts = String::from("#node,ip,hostnames,otherinterfaces,comments,disable\n");
        hosts.push_str("\"compute\",\"|\\D+(\\d+)|10.(64+($1-1)/62500).((($1-1)/250)%250).(($1-1)%250+1)|\",,,,\n");
        hosts.push_str("\"mn\",\"10.0.0.254\",,\"-eth1:10.127.255.254\",,\n");
        for s in 1..=k {
            writeln!(
                hosts,
                "\"sn{s}\",\"10.0.0.{s}\",,\"-eth1:10.127.255.{s}\",,"
            )
            .unwrap();
        }
        t.insert("hosts", hosts);

        let mut ipmi = String::from("#node,bmc,username,password,comments,disable\n");
        ipmi.push_str("\"compute\",\"/\\z/-bmc/\",\"ADMIN\",,,\n");
        t.insert("ipmi", ipmi);

        let mut networks = String::from("#netname,net,mask,mgtifname,gateway,dhcpserver,tftpserver,nameservers,dynamicrange,comments,disable\n");
        networks
            .push_str("\"mgmtnet\",\"10.0.0.0\",\"255.255.0.0\",\"eth0\",\"10.0.0.254\",,,,,,\n");
        networks.push_str("\"computenet\",\"10.64.0.0\",\"255.192.0.0\",\"eth1\",\"<xcatmaster>\",,,\"<xcatmaster>\",\"10.127.254.1-10.127.254.254\",,\n");
        t.insert("networks", networks);

        let mut post = String::from("#node,postscripts,postbootscripts,comments,disable\n");
        post.push_str("\"xcatdefaults\",\"syslog,remoteshell,syncfiles\",\"otherpkgs\",,\n");
        post.push_str("\"compute\",\"setupntp,mkresolvconf\",,,\n");
        t.insert("postscripts", post);

        let mut sn = String::from("#node,nameserver,dhcpserver,tftpserver,nfsserver,conserver,ntpserver,comments,disable\n");
        sn.push_str("\"service\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\",,\n");
        t.insert("servicenode", sn);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racks_and_pools_cover_every_node() {
        let s = SampleSpec {
            nodes: 300,
            racks: 10,
            sns: 3,
        };
        assert_eq!(s.rack_of(1), 1);
        assert_eq!(s.rack_of(30), 1);
        assert_eq!(s.rack_of(31), 2);
        assert_eq!(s.rack_of(300), 10);
        assert_eq!(s.pool(1), (1, 2));
        assert_eq!(s.pool(3), (3, 1));
        assert_eq!(s.node_name(7), "cn0007");
        assert_eq!(s.rack_name(2), "rack02");
    }

    #[test]
    fn names_widen_with_the_cluster() {
        let s = SampleSpec {
            nodes: 100_000,
            racks: 500,
            sns: 3,
        };
        assert_eq!(s.node_name(7), "cn000007");
        assert_eq!(s.rack_name(42), "rack042");
        assert_eq!(s.rack_of(200), 1);
        assert_eq!(s.rack_of(201), 2);
        assert_eq!(s.rack_of(100_000), 500);
    }
}
