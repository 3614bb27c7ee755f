//! Probes: ask the real daemons, from inside a compute node, who serves it.
//!
//! DHCP, TFTP, DNS and NTP are spoken by small clients in this crate. They run on a thread that
//! has entered the node's network namespace ([`crate::sys::in_netns`]), so no helper binary is
//! needed and the probes are plain library calls. Syslog and consoles use the node's own tools
//! (`logger`, conserver's `console`) through [`Bed::exec`].

use crate::bed::Bed;
use crate::plan::Role;
use crate::render;
use crate::sys;
use anyhow::{anyhow, bail, Context, Result};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A DHCPOFFER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpOffer {
    /// Source address of the reply.
    pub from: Ipv4Addr,
    /// Option 54, server identifier.
    pub server_id: Option<Ipv4Addr>,
    /// `siaddr`: next-server.
    pub next_server: Ipv4Addr,
    /// `yiaddr`: the offered address.
    pub yiaddr: Ipv4Addr,
    /// Boot file name (`file` field, or option 67).
    pub file: String,
    /// Option 3.
    pub routers: Vec<Ipv4Addr>,
    /// Option 6.
    pub dns: Vec<Ipv4Addr>,
    /// Option 42.
    pub ntp: Vec<Ipv4Addr>,
}

/// An NTP server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtpReply {
    /// The server that answered.
    pub server: Ipv4Addr,
    /// Its stratum (1..=15).
    pub stratum: u8,
    /// Leap indicator (3 = unsynchronised).
    pub leap: u8,
}

/// A DNS answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAnswer {
    /// The server that answered.
    pub server: Ipv4Addr,
    /// The name asked (after the search domain was applied).
    pub name: String,
    /// A records.
    pub addrs: Vec<Ipv4Addr>,
}

fn unique_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "baton-tb-probe-{}-{}-{}",
        std::process::id(),
        t,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn udp_socket(bind: SocketAddrV4, device: Option<&str>, broadcast: bool) -> Result<UdpSocket> {
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            bail!("socket: {}", std::io::Error::last_os_error());
        }
        let sock = UdpSocket::from_raw_fd(fd);
        let one: libc::c_int = 1;
        let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let p = &one as *const _ as *const libc::c_void;
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, p, sz);
        if broadcast {
            libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_BROADCAST, p, sz);
        }
        if let Some(dev) = device {
            if libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                dev.as_ptr() as *const libc::c_void,
                dev.len() as libc::socklen_t,
            ) != 0
            {
                bail!("SO_BINDTODEVICE {dev}: {}", std::io::Error::last_os_error());
            }
        }
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: bind.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*bind.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        if libc::bind(
            fd,
            &sa as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        ) != 0
        {
            bail!("bind {bind}: {}", std::io::Error::last_os_error());
        }
        Ok(sock)
    }
}

fn parse_mac(mac: &str) -> Result<[u8; 6]> {
    let v: Vec<u8> = mac
        .split(':')
        .map(|h| u8::from_str_radix(h, 16))
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow!("bad MAC {mac}"))?;
    v.try_into().map_err(|_| anyhow!("bad MAC {mac}"))
}

/// Builds a DHCPDISCOVER (broadcast flag set).
pub fn dhcp_discover_packet(xid: u32, mac: [u8; 6]) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[0] = 1; // BOOTREQUEST
    p[1] = 1; // ethernet
    p[2] = 6;
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[10] = 0x80; // broadcast
    p[28..34].copy_from_slice(&mac);
    p.extend_from_slice(&[99, 130, 83, 99]);
    p.extend_from_slice(&[53, 1, 1]);
    p.extend_from_slice(&[55, 8, 1, 3, 6, 15, 42, 7, 66, 67]);
    p.push(255);
    p
}

fn ips(v: &[u8]) -> Vec<Ipv4Addr> {
    v.chunks_exact(4)
        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
        .collect()
}

/// Parses a DHCPOFFER for `xid`; None if the packet is something else.
pub fn parse_dhcp_offer(d: &[u8], xid: u32, from: Ipv4Addr) -> Option<DhcpOffer> {
    if d.len() < 240
        || d[0] != 2
        || d[4..8] != xid.to_be_bytes()
        || d[236..240] != [99, 130, 83, 99]
    {
        return None;
    }
    let ip = |o: usize| Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3]);
    let mut offer = DhcpOffer {
        from,
        server_id: None,
        next_server: ip(20),
        yiaddr: ip(16),
        file: String::from_utf8_lossy(&d[108..236])
            .trim_end_matches('\0')
            .to_string(),
        routers: vec![],
        dns: vec![],
        ntp: vec![],
    };
    let mut kind = 0;
    let mut i = 240;
    while i < d.len() {
        let t = d[i];
        if t == 255 {
            break;
        }
        if t == 0 {
            i += 1;
            continue;
        }
        if i + 1 >= d.len() {
            break;
        }
        let l = d[i + 1] as usize;
        let v = d.get(i + 2..i + 2 + l)?;
        match t {
            53 => kind = v.first().copied().unwrap_or(0),
            54 => offer.server_id = ips(v).first().copied(),
            3 => offer.routers = ips(v),
            6 => offer.dns = ips(v),
            42 => offer.ntp = ips(v),
            67 if offer.file.is_empty() => {
                offer.file = String::from_utf8_lossy(v)
                    .trim_end_matches('\0')
                    .to_string()
            }
            _ => {}
        }
        i += 2 + l;
    }
    (kind == 2).then_some(offer)
}

/// Sends one DHCPDISCOVER from `iface` (with `mac` as chaddr) inside network namespace `ns` and
/// collects the offers that arrive within `wait` (all of them if `all`, else the first).
pub fn dhcp_discover(
    ns: &str,
    iface: &str,
    mac: &str,
    wait: Duration,
    all: bool,
) -> Result<Vec<DhcpOffer>> {
    let mac = parse_mac(mac)?;
    let iface = iface.to_string();
    sys::in_netns(ns, move || {
        let sock = udp_socket(
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            Some(&iface),
            true,
        )?;
        let xid = u32::from_be_bytes(unique_token().as_bytes()[..4].try_into().unwrap())
            ^ (SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .subsec_nanos());
        let pkt = dhcp_discover_packet(xid, mac);
        sock.send_to(&pkt, (Ipv4Addr::BROADCAST, 67))
            .context("send DHCPDISCOVER")?;
        let t0 = Instant::now();
        let mut offers = vec![];
        let mut buf = [0u8; 1500];
        let mut resent = false;
        while t0.elapsed() < wait {
            let left = wait
                .saturating_sub(t0.elapsed())
                .max(Duration::from_millis(1));
            sock.set_read_timeout(Some(left.min(Duration::from_millis(500))))?;
            match sock.recv_from(&mut buf) {
                Ok((n, std::net::SocketAddr::V4(a))) => {
                    if let Some(o) = parse_dhcp_offer(&buf[..n], xid, *a.ip()) {
                        offers.push(o);
                        if !all {
                            break;
                        }
                    }
                }
                Ok(_) => {}
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    // one retransmission, as a client would
                    if !resent && offers.is_empty() && t0.elapsed() > wait / 2 {
                        sock.send_to(&pkt, (Ipv4Addr::BROADCAST, 67))?;
                        resent = true;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(anyhow!("receive DHCP offers: {e}")),
            }
        }
        Ok(offers)
    })
}

/// Reads `file` from the TFTP server `server` (octet mode), from inside network namespace `ns`.
pub fn tftp_read(ns: &str, server: Ipv4Addr, file: &str, timeout: Duration) -> Result<Vec<u8>> {
    let file = file.to_string();
    sys::in_netns(ns, move || {
        let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        // `timeout` bounds a silent server: three tries of a third each
        sock.set_read_timeout(Some((timeout / 3).max(Duration::from_millis(100))))?;
        let mut rrq = vec![0, 1];
        rrq.extend_from_slice(file.as_bytes());
        rrq.push(0);
        rrq.extend_from_slice(b"octet\0");
        let mut last: (Vec<u8>, std::net::SocketAddr) = (rrq, (server, 69).into());
        sock.send_to(&last.0, last.1)?;
        let mut peer: Option<std::net::SocketAddr> = None;
        let mut data = vec![];
        let mut expect: u16 = 1;
        let mut tries = 0;
        let mut buf = [0u8; 65536];
        loop {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    if from.ip() != std::net::IpAddr::V4(server) || peer.is_some_and(|p| p != from)
                    {
                        continue;
                    }
                    let d = &buf[..n];
                    if n < 4 {
                        continue;
                    }
                    let op = u16::from_be_bytes([d[0], d[1]]);
                    let blk = u16::from_be_bytes([d[2], d[3]]);
                    match op {
                        3 => {
                            peer = Some(from);
                            if blk == expect {
                                data.extend_from_slice(&d[4..]);
                                let ack = vec![0, 4, d[2], d[3]];
                                sock.send_to(&ack, from)?;
                                last = (ack, from);
                                tries = 0;
                                if n - 4 < 512 {
                                    return Ok(data);
                                }
                                expect = expect.wrapping_add(1);
                            } else {
                                sock.send_to(&last.0, last.1)?;
                            }
                        }
                        5 => bail!(
                            "TFTP error {blk} from {server}: {}",
                            String::from_utf8_lossy(&d[4..]).trim_end_matches('\0')
                        ),
                        _ => {}
                    }
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    tries += 1;
                    if tries > 2 {
                        bail!("TFTP read of {file} from {server}: timed out");
                    }
                    sock.send_to(&last.0, last.1)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    })
}

/// Builds a DNS query.
pub fn dns_query_packet(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut p = vec![];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]); // RD, 1 question
    for label in name.trim_end_matches('.').split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    p
}

fn skip_name(d: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let l = *d.get(i)? as usize;
        if l == 0 {
            return Some(i + 1);
        }
        if l & 0xc0 == 0xc0 {
            return Some(i + 2);
        }
        i += 1 + l;
    }
}

/// Parses a DNS response: (rcode, records of `qtype` as raw rdata).
pub fn parse_dns_response(d: &[u8], id: u16, qtype: u16) -> Option<(u8, Vec<Vec<u8>>)> {
    if d.len() < 12 || d[0..2] != id.to_be_bytes() || d[2] & 0x80 == 0 {
        return None;
    }
    let rcode = d[3] & 0x0f;
    let qd = u16::from_be_bytes([d[4], d[5]]) as usize;
    let an = u16::from_be_bytes([d[6], d[7]]) as usize;
    let mut i = 12;
    for _ in 0..qd {
        i = skip_name(d, i)? + 4;
    }
    let mut out = vec![];
    for _ in 0..an {
        i = skip_name(d, i)?;
        let h = d.get(i..i + 10)?;
        let t = u16::from_be_bytes([h[0], h[1]]);
        let l = u16::from_be_bytes([h[8], h[9]]) as usize;
        let rdata = d.get(i + 10..i + 10 + l)?;
        if t == qtype {
            out.push(rdata.to_vec());
        }
        i += 10 + l;
    }
    Some((rcode, out))
}

/// Asks `server` for the A records of `name` from inside network namespace `ns`.
pub fn dns_query(ns: &str, server: Ipv4Addr, name: &str, timeout: Duration) -> Result<DnsAnswer> {
    let name = name.to_string();
    sys::in_netns(ns, move || {
        let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        sock.set_read_timeout(Some(timeout))?;
        let id = (SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos()
            & 0xffff) as u16;
        sock.send_to(&dns_query_packet(id, &name, 1), (server, 53))?;
        let mut buf = [0u8; 4096];
        let t0 = Instant::now();
        loop {
            let (n, from) = sock
                .recv_from(&mut buf)
                .map_err(|e| timeout_err(e, &format!("DNS query for {name} to {server}")))?;
            if from.ip() != std::net::IpAddr::V4(server) {
                continue;
            }
            if let Some((rcode, recs)) = parse_dns_response(&buf[..n], id, 1) {
                if rcode != 0 {
                    bail!("DNS query for {name} to {server}: rcode {rcode}");
                }
                return Ok(DnsAnswer {
                    server,
                    name: name.clone(),
                    addrs: recs
                        .iter()
                        .filter(|r| r.len() == 4)
                        .flat_map(|r| ips(r))
                        .collect(),
                });
            }
            if t0.elapsed() > timeout {
                bail!("DNS query for {name} to {server}: timed out");
            }
        }
    })
}

/// Sends one SNTP client request to `server` from inside network namespace `ns`.
pub fn ntp_query(ns: &str, server: Ipv4Addr, timeout: Duration) -> Result<NtpReply> {
    sys::in_netns(ns, move || {
        let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        sock.set_read_timeout(Some(timeout))?;
        let mut p = [0u8; 48];
        p[0] = 0x23; // LI 0, version 4, mode 3 (client)
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = now.as_secs() + 2_208_988_800;
        let frac = ((now.subsec_nanos() as u64) << 32) / 1_000_000_000;
        p[40..44].copy_from_slice(&(secs as u32).to_be_bytes());
        p[44..48].copy_from_slice(&(frac as u32).to_be_bytes());
        sock.send_to(&p, (server, 123))?;
        let mut buf = [0u8; 512];
        loop {
            let (n, from) = sock
                .recv_from(&mut buf)
                .map_err(|e| timeout_err(e, &format!("NTP server {server}")))?;
            if from.ip() != std::net::IpAddr::V4(server) || n < 48 {
                continue;
            }
            if buf[24..32] != p[40..48] {
                continue; // not the answer to our request
            }
            let mode = buf[0] & 7;
            let stratum = buf[1];
            if mode != 4 {
                bail!("NTP server {server}: mode {mode} reply");
            }
            if stratum == 0 {
                bail!(
                    "NTP server {server}: kiss-o'-death {}",
                    String::from_utf8_lossy(&buf[12..16])
                );
            }
            return Ok(NtpReply {
                server,
                stratum,
                leap: buf[0] >> 6,
            });
        }
    })
}

/// For each of many nodes (network namespace, a name to look up): the first moment both an
/// NTP and a DNS query to `server` were answered, or None within `limit`. One thread asks for
/// all of them, every `period`, from sockets made once in each node's namespace: hundreds of
/// nodes are probed without the probing itself taking the CPU the servers need.
pub fn first_answers(
    nodes: &[(String, String)],
    server: Ipv4Addr,
    period: Duration,
    limit: Duration,
) -> Result<Vec<Option<SystemTime>>> {
    struct Probe {
        ntp: UdpSocket,
        dns: UdpSocket,
        name: String,
        ntp_ok: bool,
        dns_ok: bool,
        at: Option<SystemTime>,
    }
    let mut probes = Vec::with_capacity(nodes.len());
    for (ns, name) in nodes {
        let (ntp, dns) = sys::in_netns(ns, || {
            let (a, b) = (
                UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?,
                UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?,
            );
            a.set_nonblocking(true)?;
            b.set_nonblocking(true)?;
            Ok((a, b))
        })?;
        probes.push(Probe {
            ntp,
            dns,
            name: name.clone(),
            ntp_ok: false,
            dns_ok: false,
            at: None,
        });
    }
    let mut ntp_req = [0u8; 48];
    ntp_req[0] = 0x23; // version 4, client
    let t0 = Instant::now();
    let mut buf = [0u8; 4096];
    while t0.elapsed() < limit && probes.iter().any(|p| p.at.is_none()) {
        for p in probes.iter_mut().filter(|p| p.at.is_none()) {
            if !p.ntp_ok {
                let _ = p.ntp.send_to(&ntp_req, (server, 123));
            }
            if !p.dns_ok {
                let _ = p
                    .dns
                    .send_to(&dns_query_packet(0x4242, &p.name, 1), (server, 53));
            }
        }
        let round = Instant::now();
        while round.elapsed() < period {
            // Wait for any answer (poll(2)): hundreds of sockets are not swept in a busy loop.
            let mut fds: Vec<libc::pollfd> = probes
                .iter()
                .filter(|p| p.at.is_none())
                .flat_map(|p| [p.ntp.as_raw_fd(), p.dns.as_raw_fd()])
                .map(|fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let left = period.saturating_sub(round.elapsed()).as_millis().max(1) as libc::c_int;
            // SAFETY: fds is a valid array of fds.len() pollfd structs for the call's duration.
            if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, left) } <= 0 {
                continue;
            }
            for p in probes.iter_mut().filter(|p| p.at.is_none()) {
                while let Ok((n, from)) = p.ntp.recv_from(&mut buf) {
                    p.ntp_ok |= from.ip() == server && n >= 48 && buf[0] & 7 == 4 && buf[1] != 0;
                }
                while let Ok((n, from)) = p.dns.recv_from(&mut buf) {
                    p.dns_ok |= from.ip() == server
                        && parse_dns_response(&buf[..n], 0x4242, 1).is_some_and(|(rc, _)| rc == 0);
                }
                if p.ntp_ok && p.dns_ok {
                    p.at = Some(SystemTime::now());
                }
            }
        }
    }
    Ok(probes.into_iter().map(|p| p.at).collect())
}

fn timeout_err(e: std::io::Error, what: &str) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            anyhow!("{what}: no answer (timed out)")
        }
        _ => anyhow!("{what}: {e}"),
    }
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

impl Bed {
    fn netns_of(&self, node: &str) -> Result<String> {
        Ok(self.node(node)?.netns.clone())
    }

    /// Resolves a host name the way the nodes' `/etc/hosts` does (names, FQDNs, `snK-eth1`).
    pub fn resolve(&self, host: &str) -> Result<Ipv4Addr> {
        self.plan()
            .resolve(host)
            .ok_or_else(|| anyhow!("cannot resolve {host:?} in bed {}", self.name()))
    }

    /// Name of the node that owns an address.
    pub fn owner_of(&self, ip: Ipv4Addr) -> Option<String> {
        self.plan().owner_of(ip).map(|n| n.name.clone())
    }

    /// `logger`s a unique line on `cn` and waits (up to 3 s) for it in `sn`'s
    /// `/var/log/syslog`. True when it arrived.
    pub fn probe_syslog(&self, cn: &str, sn: &str) -> Result<bool> {
        Ok(self
            .syslog_receivers_of(cn, &[sn.to_string()], Duration::from_secs(3))?
            .contains(&sn.to_string()))
    }

    /// `logger`s a unique line on `cn` and returns the SNs whose syslog received it within
    /// `wait` (returns as soon as one has, after a short grace period for others).
    pub fn syslog_receivers(&self, cn: &str, wait: Duration) -> Result<Vec<String>> {
        let sns = self.sns();
        self.syslog_receivers_of(cn, &sns, wait)
    }

    fn syslog_receivers_of(&self, cn: &str, sns: &[String], wait: Duration) -> Result<Vec<String>> {
        let token = unique_token();
        self.exec_ok(cn, &["logger", "-t", "baton-tb", &token])?;
        let t0 = Instant::now();
        let mut first_hit: Option<Instant> = None;
        loop {
            let got: Vec<String> = sns
                .iter()
                .filter(|sn| {
                    self.read_node_text(sn, "/var/log/syslog")
                        .map(|s| s.contains(&token))
                        .unwrap_or(false)
                })
                .cloned()
                .collect();
            if !got.is_empty() && first_hit.is_none() {
                first_hit = Some(Instant::now());
            }
            let grace_over = first_hit.is_some_and(|t| t.elapsed() > Duration::from_millis(300));
            if got.len() == sns.len() || grace_over || t0.elapsed() > wait {
                return Ok(got);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The servers in `cn`'s `/etc/chrony/chrony.conf` (`server X ...` lines), resolved.
    pub fn ntp_servers_of(&self, cn: &str) -> Result<Vec<Ipv4Addr>> {
        let conf = self.read_node_text(cn, "/etc/chrony/chrony.conf")?;
        conf.lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                matches!(w.next(), Some("server") | Some("pool"))
                    .then(|| w.next())
                    .flatten()
            })
            .map(|h| self.resolve(h))
            .collect()
    }

    /// Asks the NTP server `cn` is configured with (first `server` of its chrony.conf), from
    /// inside `cn`. Ok only when that server answers.
    pub fn probe_ntp(&self, cn: &str) -> Result<NtpReply> {
        let server = *self
            .ntp_servers_of(cn)?
            .first()
            .ok_or_else(|| anyhow!("{cn}: no server in chrony.conf"))?;
        self.probe_ntp_server(cn, server)
    }

    /// Asks NTP server `server` from inside `node`.
    pub fn probe_ntp_server(&self, node: &str, server: Ipv4Addr) -> Result<NtpReply> {
        ntp_query(&self.netns_of(node)?, server, PROBE_TIMEOUT)
    }

    /// `chronyc -n sources` inside a node: (state char, address) per source, e.g. `('*', ip)`
    /// for the one chronyd synchronises to.
    pub fn chrony_sources(&self, node: &str) -> Result<Vec<(char, String)>> {
        let out = self.exec_ok(node, &["chronyc", "-n", "sources"])?;
        Ok(out
            .lines()
            .filter(|l| l.starts_with('^') || l.starts_with('='))
            .filter_map(|l| {
                let mut c = l.chars();
                c.next();
                let state = c.next()?;
                let addr = l.get(3..)?.split_whitespace().next()?.to_string();
                Some((state, addr))
            })
            .collect())
    }

    /// Sends a DHCPDISCOVER from `cn`'s compute NIC (with its MAC) and returns the first offer
    /// (3 s at most).
    pub fn probe_dhcp(&self, cn: &str) -> Result<DhcpOffer> {
        self.dhcp_probe(cn, Duration::from_secs(3), false)?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("{cn}: no DHCPOFFER"))
    }

    /// Like [`Bed::probe_dhcp`] but waits the whole `wait` and returns every offer.
    pub fn probe_dhcp_all(&self, cn: &str, wait: Duration) -> Result<Vec<DhcpOffer>> {
        self.dhcp_probe(cn, wait, true)
    }

    fn dhcp_probe(&self, cn: &str, wait: Duration, all: bool) -> Result<Vec<DhcpOffer>> {
        let n = self.node(cn)?;
        if n.role != Role::Cn {
            bail!("{cn} is not a compute node");
        }
        let mac = n.compute_mac.clone().unwrap();
        dhcp_discover(&n.netns, "eth0", &mac, wait, all)
    }

    /// Reads `file` over TFTP from `server` (a node name, alias or IP) from inside `node`.
    pub fn tftp_get(&self, node: &str, server: &str, file: &str) -> Result<Vec<u8>> {
        let ip = self.resolve(server)?;
        tftp_read(&self.netns_of(node)?, ip, file, PROBE_TIMEOUT)
    }

    /// Path of a CN's boot file under `/tftpboot` (`xcat/xnba/nodes/<cn>`).
    pub fn boot_file(&self, cn: &str) -> String {
        render::boot_file_path(cn)
    }

    /// Consoles the conserver on `sn` serves (`console -x`, run inside the SN).
    pub fn conserver_consoles(&self, sn: &str) -> Result<Vec<String>> {
        let port = render::CONSERVER_PORT.to_string();
        // conserver requires TLS by default: no -E
        let out = self.exec(sn, &["console", "-n", "-M", "127.0.0.1", "-p", &port, "-x"])?;
        if !out.status.success() {
            bail!(
                "console -x on {sn} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(" on "))
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .collect();
        v.sort();
        v.dedup();
        Ok(v)
    }

    /// Resolves `name` from inside `node` the way its resolver would: the first nameserver
    /// (and the search domain, for a name without a dot) of its `/etc/resolv.conf`.
    pub fn dns_lookup(&self, node: &str, name: &str) -> Result<DnsAnswer> {
        let rc = self.read_node_text(node, "/etc/resolv.conf")?;
        let mut ns = None;
        let mut search = None;
        for l in rc.lines() {
            let mut w = l.split_whitespace();
            match (w.next(), w.next()) {
                (Some("nameserver"), Some(s)) if ns.is_none() => ns = s.parse().ok(),
                (Some("search"), Some(s)) | (Some("domain"), Some(s)) => {
                    search = Some(s.to_string())
                }
                _ => {}
            }
        }
        let server: Ipv4Addr = ns.ok_or_else(|| anyhow!("{node}: no nameserver in resolv.conf"))?;
        let fq = match (name.contains('.'), search) {
            (false, Some(d)) => format!("{name}.{d}"),
            _ => name.to_string(),
        };
        self.dns_query(node, server, &fq)
    }

    /// Asks DNS server `server` for the A records of `name` from inside `node`.
    pub fn dns_query(&self, node: &str, server: Ipv4Addr, name: &str) -> Result<DnsAnswer> {
        dns_query(&self.netns_of(node)?, server, name, PROBE_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dhcp_packet_roundtrip() {
        let mac = [2, 0xb7, 1, 2, 3, 4];
        let p = dhcp_discover_packet(0xdeadbeef, mac);
        assert_eq!(&p[4..8], &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(&p[28..34], &mac);
        // turn it into an offer
        let mut o = p.clone();
        o[0] = 2;
        o[16..20].copy_from_slice(&[10, 1, 17, 1]);
        o[20..24].copy_from_slice(&[10, 1, 16, 11]);
        o[108..114].copy_from_slice(b"a.kpxe");
        o.truncate(240);
        o.extend_from_slice(&[53, 1, 2, 54, 4, 10, 1, 16, 11, 3, 4, 10, 1, 16, 11, 255]);
        let off = parse_dhcp_offer(&o, 0xdeadbeef, Ipv4Addr::new(10, 1, 16, 11)).unwrap();
        assert_eq!(off.next_server, Ipv4Addr::new(10, 1, 16, 11));
        assert_eq!(off.server_id, Some(Ipv4Addr::new(10, 1, 16, 11)));
        assert_eq!(off.yiaddr, Ipv4Addr::new(10, 1, 17, 1));
        assert_eq!(off.file, "a.kpxe");
        assert!(parse_dhcp_offer(&o, 1, Ipv4Addr::LOCALHOST).is_none());
    }

    #[test]
    fn dns_roundtrip() {
        let q = dns_query_packet(7, "cn1.cluster.test", 1);
        let mut r = q.clone();
        r[2] = 0x81;
        r[3] = 0x80;
        r[7] = 1; // ancount
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 10, 0, 4, 10, 1, 17, 1]);
        let (rc, recs) = parse_dns_response(&r, 7, 1).unwrap();
        assert_eq!(rc, 0);
        assert_eq!(recs, vec![vec![10, 1, 17, 1]]);
    }
}
