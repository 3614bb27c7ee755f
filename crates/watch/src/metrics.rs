//! Health in Prometheus text format, served on a local HTTP port. The server is a few lines on
//! std's TcpListener: one GET path, one small body, no keep-alive; a full HTTP stack would be
//! most of the watcher's dependencies.

use crate::status::StatusFile;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The exposition text of a status.
pub fn render(s: &StatusFile) -> String {
    let mut o = String::new();
    let mut family = |name: &str, help: &str, kind: &str| {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(
        "baton_watch_up",
        "1 while the watcher runs (this endpoint is the watcher's own).",
        "gauge",
    );
    family(
        "baton_watch_isolated",
        "1 when more than half of the service nodes fail at once: management node isolated? The watcher acts on none.",
        "gauge",
    );
    family(
        "baton_sn_last_probe_timestamp_seconds",
        "Unix time of the service node's last probe round.",
        "gauge",
    );
    family(
        "baton_watch_active",
        "1 when this watcher holds the lock and acts, 0 on standby or report-only.",
        "gauge",
    );
    family(
        "baton_watch_takeovers_total",
        "Takeovers this watcher applied.",
        "counter",
    );
    family(
        "baton_sn_up",
        "1 when the service node passed its last probe round.",
        "gauge",
    );
    family(
        "baton_sn_down",
        "1 when the service node is declared down.",
        "gauge",
    );
    family(
        "baton_sn_consecutive_failures",
        "Probe rounds failed in a row.",
        "gauge",
    );
    family(
        "baton_sn_check",
        "Result of each check of the last round (ssh, dhcp, tftp, ntp, syslog).",
        "gauge",
    );
    family(
        "baton_sn_nodes",
        "Nodes whose primary service node it is.",
        "gauge",
    );
    family(
        "baton_adopted_address",
        "1 for each service node's compute address held by another service node (--adopt-address) until its nodes are re-pointed.",
        "gauge",
    );
    let _ = writeln!(o, "baton_watch_up {}", u8::from(!s.stopped));
    for a in &s.adopted {
        let _ = writeln!(
            o,
            "baton_adopted_address{{address=\"{}\",owner=\"{}\",holder=\"{}\",entry=\"{}\"}} 1",
            escape(&a.address),
            escape(&a.owner),
            escape(&a.holder),
            a.entry
        );
    }
    let _ = writeln!(o, "baton_watch_isolated {}", u8::from(s.isolated));
    let _ = writeln!(o, "baton_watch_active {}", u8::from(s.active));
    let _ = writeln!(o, "baton_watch_takeovers_total {}", s.takeovers);
    for (sn, h) in &s.sns {
        let l = format!("sn=\"{}\"", escape(sn));
        let _ = writeln!(o, "baton_sn_up{{{l}}} {}", u8::from(h.health.last.ok()));
        let _ = writeln!(
            o,
            "baton_sn_last_probe_timestamp_seconds{{{l}}} {}",
            h.health.last_probe
        );
        let _ = writeln!(
            o,
            "baton_sn_down{{{l}}} {}",
            u8::from(h.health.health == crate::health::Health::Down)
        );
        let _ = writeln!(
            o,
            "baton_sn_consecutive_failures{{{l}}} {}",
            h.health.failures
        );
        for (c, ok) in &h.health.last.checks {
            let _ = writeln!(
                o,
                "baton_sn_check{{{l},check=\"{}\"}} {}",
                escape(c),
                u8::from(*ok)
            );
        }
        let _ = writeln!(o, "baton_sn_nodes{{{l}}} {}", h.nodes);
    }
    o
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Serve `GET /metrics` with the latest text on `addr` from a background thread; returns the
/// bound address (port 0 picks a free one).
pub fn serve(addr: &str, text: Arc<Mutex<String>>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let _ = answer(conn, &text);
        }
    });
    Ok(bound)
}

fn answer(mut c: TcpStream, text: &Mutex<String>) -> std::io::Result<()> {
    c.set_read_timeout(Some(Duration::from_secs(2)))?;
    c.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = [0u8; 2048];
    let mut req = Vec::new();
    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 8192 {
        let n = c.read(&mut buf)?;
        if n == 0 {
            break;
        }
        req.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&req);
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (status, ctype, body) = if method == "GET" && (path == "/metrics" || path == "/") {
        let body = text.lock().map(|t| t.clone()).unwrap_or_default();
        ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body)
    } else {
        (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "only GET /metrics is served here\n".to_string(),
        )
    };
    write!(
        c,
        "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    c.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{Health, Observation, SnHealth};
    use crate::status::SnStatus;

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut c = TcpStream::connect(addr).unwrap();
        write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn an_adopted_address_is_a_gauge_naming_owner_and_holder() {
        let mut st = StatusFile::default();
        assert!(!render(&st).contains("baton_adopted_address{"));
        st.adopted.push(takeover::adopt::Held {
            address: "10.0.16.11".into(),
            owner: "sn1".into(),
            holder: "sn2".into(),
            entry: 7,
        });
        assert!(render(&st).contains(
            "\nbaton_adopted_address{address=\"10.0.16.11\",owner=\"sn1\",holder=\"sn2\",entry=\"7\"} 1\n"
        ));
    }

    #[test]
    fn served_over_http_on_loopback() {
        let mut st = StatusFile {
            active: true,
            ..Default::default()
        };
        st.sns.insert(
            "sn1".into(),
            SnStatus {
                health: SnHealth {
                    health: Health::Down,
                    failures: 4,
                    last: Observation {
                        checks: [("ssh".to_string(), false)].into(),
                        error: Some("refused".into()),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                nodes: 7,
            },
        );
        let text = Arc::new(Mutex::new(render(&st)));
        let addr = serve("127.0.0.1:0", text.clone()).unwrap();
        let r = get(addr, "/metrics");
        assert!(r.starts_with("HTTP/1.0 200 OK\r\n"), "{r}");
        for line in [
            "baton_watch_active 1",
            "baton_sn_up{sn=\"sn1\"} 0",
            "baton_sn_down{sn=\"sn1\"} 1",
            "baton_sn_consecutive_failures{sn=\"sn1\"} 4",
            "baton_sn_check{sn=\"sn1\",check=\"ssh\"} 0",
            "baton_sn_nodes{sn=\"sn1\"} 7",
            "# TYPE baton_watch_takeovers_total counter",
        ] {
            assert!(r.lines().any(|l| l == line), "{line} in\n{r}");
        }
        *text.lock().unwrap() = "new\n".into();
        assert!(get(addr, "/metrics").ends_with("\r\n\r\nnew\n"));
        assert!(get(addr, "/other").starts_with("HTTP/1.0 404"));
    }
}
