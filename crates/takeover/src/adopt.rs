//! `--adopt-address`: a destination service node holds the old one's compute address while the
//! nodes are re-pointed behind it, so every node is served at once (make before break for the
//! nodes themselves). Here: which addresses, who holds them, and the steps around the move.

use crate::model::{AddressMove, NodeMove, Plan, Step, StepKind};
use std::net::Ipv4Addr;

/// One address to hold: the old SN's compute address, the SN that holds it, the nodes using it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    pub address: String,
    pub old_sn: String,
    pub holder: String,
    pub nodes: Vec<String>,
}

/// The old SN a node leaves and the compute address it used there, when that address can be
/// adopted (IPv4); None when the node stays or its old xcatmaster has no such address.
pub fn old_address(m: &NodeMove) -> Option<(&str, &str)> {
    let old = m.old_sn.as_deref().filter(|o| *o != m.new_sn)?;
    let addr = m.old_xm_ip.as_deref()?;
    addr.parse::<Ipv4Addr>().is_ok().then_some((old, addr))
}

/// The old SNs' compute addresses the moved nodes use (their old xcatmaster's IPv4 address),
/// each held by the destination that takes most of its nodes (the first such, on a tie).
pub fn adoptions(moves: &[NodeMove]) -> Vec<Adoption> {
    let mut out: Vec<(Adoption, Vec<(String, usize)>)> = Vec::new();
    for m in moves {
        let Some((old, addr)) = old_address(m) else {
            continue;
        };
        let i = match out.iter().position(|(a, _)| a.address == addr) {
            Some(i) => i,
            None => {
                let a = Adoption {
                    address: addr.to_string(),
                    old_sn: old.to_string(),
                    holder: String::new(),
                    nodes: Vec::new(),
                };
                out.push((a, Vec::new()));
                out.len() - 1
            }
        };
        let (a, counts) = &mut out[i];
        a.nodes.push(m.node.clone());
        match counts.iter_mut().find(|(sn, _)| *sn == m.new_sn) {
            Some((_, c)) => *c += 1,
            None => counts.push((m.new_sn.clone(), 1)),
        }
    }
    out.into_iter()
        .map(|(mut a, counts)| {
            let most = counts.iter().map(|(_, c)| *c).max().unwrap_or(0);
            a.holder = counts
                .into_iter()
                .find(|(_, c)| *c == most)
                .map(|(sn, _)| sn)
                .unwrap_or_default();
            a
        })
        .collect()
}

fn step(kind: StepKind, sn: &str, nodes: &[String], address: AddressMove) -> Step {
    Step {
        id: 0,
        kind,
        sn: sn.to_string(),
        nodes: nodes.to_vec(),
        scripts: Vec::new(),
        provmethod: None,
        aix: false,
        address: Some(address),
    }
}

/// `steps` with the adoption's steps: each address adopted first, released after the nodes'
/// steps (before the cleanups), and guarded on its old SN after that SN's cleanup.
pub fn with_adoptions(steps: Vec<Step>, adoptions: &[Adoption], fenced: bool) -> Vec<Step> {
    let adopt = adoptions.iter().map(|a| {
        let am = AddressMove {
            address: a.address.clone(),
            peer: a.old_sn.clone(),
            fenced,
        };
        step(StepKind::AdoptAddress, &a.holder, &a.nodes, am)
    });
    let release = adoptions
        .iter()
        .map(|a| release_step(a, &a.holder, &a.old_sn));
    let reclaim = |sn: &str| -> Vec<Step> {
        adoptions
            .iter()
            .filter(|a| a.old_sn == sn)
            .map(|a| reclaim_step(a, &a.old_sn, &a.holder))
            .collect()
    };
    let mut out: Vec<Step> = adopt.collect();
    let mut released = false;
    for s in steps {
        if s.kind.phase() > StepKind::ReleaseAddress.phase() && !released {
            out.extend(release.clone());
            released = true;
        }
        let sn = (s.kind == StepKind::CleanupOldSn).then(|| s.sn.clone());
        out.push(s);
        if let Some(sn) = sn {
            out.extend(reclaim(&sn));
        }
    }
    if !released {
        out.extend(release);
    }
    renumber(out)
}

fn release_step(a: &Adoption, holder: &str, owner: &str) -> Step {
    let am = AddressMove {
        address: a.address.clone(),
        peer: owner.to_string(),
        fenced: false,
    };
    step(StepKind::ReleaseAddress, holder, &a.nodes, am)
}

fn reclaim_step(a: &Adoption, owner: &str, holder: &str) -> Step {
    let am = AddressMove {
        address: a.address.clone(),
        peer: holder.to_string(),
        fenced: false,
    };
    step(StepKind::ReclaimAddress, owner, &a.nodes, am)
}

/// The adoptions a plan made (from its adopt steps).
pub fn of_plan(plan: &Plan) -> Vec<Adoption> {
    plan.steps
        .iter()
        .filter(|s| s.kind == StepKind::AdoptAddress)
        .filter_map(|s| {
            let a = s.address.as_ref()?;
            Some(Adoption {
                address: a.address.clone(),
                old_sn: a.peer.clone(),
                holder: s.sn.clone(),
                nodes: s.nodes.clone(),
            })
        })
        .collect()
}

/// A rollback's steps (`steps`, of the inverse move) with the adopted addresses handed back:
/// the holder lets go once the nodes point at the address again, then its owner takes it back.
pub fn hand_back(steps: Vec<Step>, adopted: &[Adoption], rolled_back: &[String]) -> Vec<Step> {
    let rolled_back: std::collections::HashSet<&str> =
        rolled_back.iter().map(String::as_str).collect();
    let mut out = steps;
    for a in adopted {
        let nodes: Vec<String> = a
            .nodes
            .iter()
            .filter(|n| rolled_back.contains(n.as_str()))
            .cloned()
            .collect();
        let a = Adoption { nodes, ..a.clone() };
        if a.nodes.is_empty() {
            continue;
        }
        let at = out
            .iter()
            .position(|s| s.kind.phase() > StepKind::ReleaseAddress.phase())
            .unwrap_or(out.len());
        out.insert(at, release_step(&a, &a.holder, &a.old_sn));
        out.push(reclaim_step(&a, &a.old_sn, &a.holder));
    }
    renumber(out)
}

/// An address held now by a service node other than its owner (`--adopt-address`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Held {
    pub address: String,
    /// The service node whose compute address it is.
    pub owner: String,
    /// The service node that holds it.
    pub holder: String,
    /// The journal entry that adopted it (its release step lets it go).
    pub entry: i64,
}

/// The addresses the journal says are adopted and not let go yet: an entry's adopt step done
/// (or not known to have failed) and its release not done. Only unfinished entries are read.
pub fn held(snap: &clusterdb::Snapshot<'_>) -> crate::Result<Vec<Held>> {
    use crate::journal::{self, run_state, StepState};
    let mut out = Vec::new();
    for e in journal::list(snap)? {
        if e.state == run_state::DONE || e.state == run_state::ROLLED_BACK {
            continue;
        }
        let (_, plan, records) = journal::load(snap, e.id)?;
        let state = |id: usize| records.iter().find(|r| r.step == id).map(|r| r.state);
        for a in plan
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::AdoptAddress)
        {
            let Some(am) = &a.address else { continue };
            if !matches!(state(a.id), Some(StepState::Done | StepState::Unknown)) {
                continue;
            }
            let released = plan.steps.iter().any(|r| {
                r.kind == StepKind::ReleaseAddress
                    && r.address.as_ref().is_some_and(|x| x.address == am.address)
                    && state(r.id) == Some(StepState::Done)
            });
            if !released {
                out.push(Held {
                    address: am.address.clone(),
                    owner: am.peer.clone(),
                    holder: a.sn.clone(),
                    entry: e.id,
                });
            }
        }
    }
    Ok(out)
}

fn renumber(mut steps: Vec<Step>) -> Vec<Step> {
    for (i, s) in steps.iter_mut().enumerate() {
        s.id = i + 1;
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MoveShape;

    fn mv(node: &str, old: &str, new: &str, old_ip: &str) -> NodeMove {
        let shape = MoveShape {
            old_sn: Some(old.into()),
            new_sn: new.into(),
            old_xm_ip: Some(old_ip.into()),
            ..Default::default()
        };
        NodeMove::new(node.into(), None, shape)
    }

    fn plain(kind: StepKind, sn: &str, nodes: &[&str]) -> Step {
        Step {
            id: 0,
            kind,
            sn: sn.into(),
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
            scripts: Vec::new(),
            provmethod: None,
            aix: false,
            address: None,
        }
    }

    #[test]
    fn each_address_is_held_by_the_destination_that_takes_most_of_its_nodes() {
        let moves = [
            mv("cn1", "sn1", "sn2", "10.0.16.11"),
            mv("cn2", "sn1", "sn3", "10.0.16.11"),
            mv("cn3", "sn1", "sn3", "10.0.16.11"),
            mv("cn4", "sn4", "sn2", "10.0.16.14"),
            // Not moved, or no IPv4 address: nothing to hold for it.
            mv("cn5", "sn2", "sn2", "10.0.16.12"),
            mv("cn6", "sn1", "sn2", "sn1-eth1"),
        ];
        let a = adoptions(&moves);
        assert_eq!(a.len(), 2);
        assert_eq!(
            (a[0].address.as_str(), a[0].holder.as_str()),
            ("10.0.16.11", "sn3")
        );
        assert_eq!(a[0].nodes, ["cn1", "cn2", "cn3"]);
        assert_eq!((a[1].old_sn.as_str(), a[1].holder.as_str()), ("sn4", "sn2"));
    }

    #[test]
    fn adopted_first_released_before_the_cleanups_guarded_after_them() {
        let moves = [mv("cn1", "sn1", "sn2", "10.0.16.11")];
        let steps = vec![
            plain(StepKind::Dhcp, "sn2", &["cn1"]),
            plain(StepKind::Xcatinfo, "sn2", &["cn1"]),
            plain(StepKind::CleanupOldSn, "sn1", &["cn1"]),
        ];
        let out = with_adoptions(steps, &adoptions(&moves), true);
        let kinds: Vec<(StepKind, &str)> = out.iter().map(|s| (s.kind, s.sn.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (StepKind::AdoptAddress, "sn2"),
                (StepKind::Dhcp, "sn2"),
                (StepKind::Xcatinfo, "sn2"),
                (StepKind::ReleaseAddress, "sn2"),
                (StepKind::CleanupOldSn, "sn1"),
                (StepKind::ReclaimAddress, "sn1"),
            ]
        );
        assert!(out[0].address.as_ref().unwrap().fenced);
        assert_eq!(out[5].address.as_ref().unwrap().peer, "sn2");
        assert_eq!(
            out.iter().map(|s| s.id).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6]
        );
    }

    #[test]
    fn a_rollback_hands_the_address_back_for_the_nodes_it_moves_back() {
        let moves = [
            mv("cn1", "sn1", "sn2", "10.0.16.11"),
            mv("cn2", "sn1", "sn2", "10.0.16.11"),
        ];
        let adopted = adoptions(&moves);
        let back = vec![
            plain(StepKind::Xcatinfo, "sn1", &["cn1"]),
            plain(StepKind::CleanupOldSn, "sn2", &["cn1"]),
        ];
        let out = hand_back(back, &adopted, &["cn1".to_string()]);
        let kinds: Vec<(StepKind, &str)> = out.iter().map(|s| (s.kind, s.sn.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (StepKind::Xcatinfo, "sn1"),
                (StepKind::ReleaseAddress, "sn2"),
                (StepKind::CleanupOldSn, "sn2"),
                (StepKind::ReclaimAddress, "sn1"),
            ]
        );
        assert_eq!(out[1].nodes, ["cn1"], "only the nodes moved back");
        assert!(hand_back(vec![], &adopted, &[]).is_empty());
    }

    #[test]
    fn the_gate_keeps_an_address_in_use_and_skips_one_no_node_needs() {
        use crate::gate::{split, Waiting};
        use crate::NodeOutcome;
        let a = adoptions(&[
            mv("cn1", "sn1", "sn2", "10.0.16.11"),
            mv("cn2", "sn1", "sn2", "10.0.16.11"),
        ]);
        let steps = with_adoptions(vec![], &a, false);
        let (adopt, release) = (&steps[0], &steps[1]);
        let mut w = Waiting::default();
        w.not_repointed
            .insert("cn2".into(), NodeOutcome::pending("xcatinfo: unreachable"));
        let (run, kept) = split(release, &w);
        assert!(run.is_none(), "released while cn2 still uses it");
        assert!(kept.values().all(|o| matches!(o, NodeOutcome::Pending(_))));
        assert!(kept["cn1"]
            .to_string()
            .contains("1 of its nodes still use it (cn2"));
        assert!(
            split(adopt, &w).0.is_some(),
            "adopted while a node needs it"
        );
        let none = Waiting::default();
        assert!(split(release, &none).0.is_some());
        let (run, kept) = split(adopt, &none);
        assert!(run.is_none() && kept.values().all(NodeOutcome::settled));
    }
}
