//! The text of every configuration baton writes, as xCAT's own scripts and commands write it:
//! compute-node files (syslog forwarding block, chrony server lines, resolv.conf, xcatinfo key)
//! and service-node files (DHCP host entries for ISC dhcpd and Kea, conserver.cf console
//! blocks, nodeset's boot files), the latter from templates a site can override. Pure: no I/O
//! (a site's template sources come in as strings).
//!
//! Invariant: the same inputs give the same bytes (steps compare before they write, and tests
//! compare with what xCAT leaves); every service-node file passes its daemon's check mode
//! (`dhcpd -t`, `kea-dhcp4 -t`, `conserver -S`; see `tests/daemon_check.rs`).

pub mod byname;
pub mod node;
pub mod sn;
pub mod templates;

pub use templates::{Templates, TEMPLATE_NAMES};
