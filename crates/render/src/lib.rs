//! The text of every configuration baton writes, as xCAT's own scripts write it: compute-node
//! files (syslog forwarding block, chrony server lines, resolv.conf, xcatinfo key). Pure: no I/O.
//!
//! Invariant: the same inputs give the same bytes (steps compare before they write, and tests
//! compare with what xCAT leaves).

pub mod node;
