//! Spreading moved nodes over several service nodes so the loads (nodes per SN) end up even,
//! weighted by capacity where one is given. Pure and deterministic: the same input gives the
//! same assignment, whatever the order of the maps.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// What the balancer decides from.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// Each moved node with its candidates in preference order (its pool without the SN it
    /// leaves).
    pub nodes: Vec<(String, Vec<String>)>,
    /// Nodes each SN serves now, not counting the moved nodes.
    pub load: BTreeMap<String, usize>,
    /// Most nodes an SN should serve; an SN without an entry has no limit.
    pub capacity: BTreeMap<String, usize>,
    /// SNs that must get nothing (failing, or the one being left).
    pub excluded: BTreeSet<String>,
}

/// The decision: node → new SN, plus the nodes no candidate could take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    pub dest: BTreeMap<String, String>,
    /// node → why it has no destination.
    pub unplaced: BTreeMap<String, String>,
    /// Nodes placed on an SN already at its capacity (every candidate was full).
    pub over_capacity: Vec<String>,
}

/// Which SN is fuller after taking one more node: `(load + 1) / capacity` when both have a
/// capacity (compared exactly, by cross-multiplying), else the loads.
fn fuller(a: (usize, Option<usize>), b: (usize, Option<usize>)) -> Ordering {
    match (a, b) {
        ((la, Some(ca)), (lb, Some(cb))) => {
            ((la as u128 + 1) * cb as u128).cmp(&((lb as u128 + 1) * ca as u128))
        }
        ((la, _), (lb, _)) => la.cmp(&lb),
    }
}

/// Assign each node an SN among its candidates: the most constrained nodes first (fewest
/// candidates, then by name), each to the candidate that is least full after taking it (SNs
/// below capacity before SNs at it, then by relative load, then by the node's preference
/// order, then by name).
pub fn balance(input: &Input) -> Assignment {
    let mut load = input.load.clone();
    let mut out = Assignment::default();
    let mut order: Vec<(&String, Vec<&String>)> = input
        .nodes
        .iter()
        .map(|(n, pool)| {
            let mut seen = BTreeSet::new();
            let c: Vec<&String> = pool
                .iter()
                .filter(|s| !s.is_empty() && !input.excluded.contains(*s) && seen.insert(*s))
                .collect();
            (n, c)
        })
        .collect();
    order.sort_by(|a, b| a.1.len().cmp(&b.1.len()).then(a.0.cmp(b.0)));
    let mut groups: BTreeMap<BTreeSet<&String>, Vec<&String>> = BTreeMap::new();
    for (node, cands) in &order {
        groups
            .entry(cands.iter().copied().collect())
            .or_default()
            .push(node);
    }
    for (node, cands) in order {
        let state = |sn: &String| {
            let l = load.get(sn).copied().unwrap_or(0);
            let cap = input.capacity.get(sn).copied();
            (cap.is_some_and(|c| l >= c), l, cap)
        };
        let best = cands.iter().enumerate().min_by(|(ia, a), (ib, b)| {
            let (fa, la, ca) = state(a);
            let (fb, lb, cb) = state(b);
            fa.cmp(&fb)
                .then(fuller((la, ca), (lb, cb)))
                .then(ia.cmp(ib))
                .then(a.cmp(b))
        });
        match best {
            Some((_, sn)) => {
                if state(sn).0 {
                    out.over_capacity.push(node.clone());
                }
                *load.entry((*sn).clone()).or_default() += 1;
                out.dest.insert(node.clone(), (*sn).clone());
            }
            None => {
                out.unplaced.insert(
                    node.clone(),
                    "no service node of its pool is left to take it".into(),
                );
            }
        }
    }
    out.over_capacity.sort();
    if out.over_capacity.is_empty() {
        for nodes in groups.values_mut() {
            keep_runs_together(nodes, &mut out.dest);
        }
    }
    out
}

/// Nodes with the same candidates keep the number of places each SN got, but take them in
/// runs of neighbouring names (cn01-cn15 to sn2, cn16-cn30 to sn3) instead of alternating:
/// a rack stays together, and plans and journals read as ranges. Loads are unchanged.
fn keep_runs_together(nodes: &mut [&String], dest: &mut BTreeMap<String, String>) {
    nodes.sort();
    let mut runs: Vec<(String, usize)> = Vec::new();
    for node in nodes.iter() {
        let Some(sn) = dest.get(*node) else { continue };
        match runs.iter_mut().find(|(s, _)| s == sn) {
            Some((_, count)) => *count += 1,
            None => runs.push((sn.clone(), 1)),
        }
    }
    let mut slots = runs
        .into_iter()
        .flat_map(|(sn, count)| std::iter::repeat_n(sn, count));
    for node in nodes.iter() {
        if let Some(d) = dest.get_mut(*node) {
            *d = slots.next().expect("as many slots as placed nodes");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(prefix: &str, n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("{prefix}{i}")).collect()
    }

    fn input(nodes: &[(&str, &[&str])], load: &[(&str, usize)]) -> Input {
        Input {
            nodes: nodes
                .iter()
                .map(|(n, p)| (n.to_string(), p.iter().map(|s| s.to_string()).collect()))
                .collect(),
            load: load.iter().map(|(s, l)| (s.to_string(), *l)).collect(),
            ..Default::default()
        }
    }

    fn counts(a: &Assignment) -> BTreeMap<String, usize> {
        let mut c = BTreeMap::new();
        for sn in a.dest.values() {
            *c.entry(sn.clone()).or_default() += 1;
        }
        c
    }

    #[test]
    fn equal_loads_split_evenly() {
        let nodes: Vec<(String, Vec<String>)> = names("cn", 6)
            .into_iter()
            .map(|n| (n, vec!["sn2".into(), "sn3".into()]))
            .collect();
        let a = balance(&Input {
            nodes,
            load: [("sn2".into(), 2), ("sn3".into(), 2)].into(),
            ..Default::default()
        });
        assert_eq!(counts(&a), [("sn2".into(), 3), ("sn3".into(), 3)].into());
        assert!(a.unplaced.is_empty() && a.over_capacity.is_empty());
    }

    #[test]
    fn the_emptier_sn_is_filled_up_first() {
        let nodes: Vec<(String, Vec<String>)> = names("cn", 6)
            .into_iter()
            .map(|n| (n, vec!["sn2".into(), "sn3".into()]))
            .collect();
        let a = balance(&Input {
            nodes,
            load: [("sn2".into(), 4)].into(),
            ..Default::default()
        });
        // 4+1 and 0+5: even at the end.
        assert_eq!(counts(&a), [("sn2".into(), 1), ("sn3".into(), 5)].into());
    }

    #[test]
    fn excluded_sns_get_nothing_and_lonely_nodes_are_reported() {
        let a = balance(&Input {
            excluded: ["sn3".to_string()].into(),
            ..input(
                &[("cn1", &["sn2", "sn3"]), ("cn2", &["sn3"]), ("cn3", &[])],
                &[],
            )
        });
        assert_eq!(a.dest, [("cn1".into(), "sn2".into())].into());
        assert_eq!(
            a.unplaced.keys().cloned().collect::<Vec<_>>(),
            ["cn2", "cn3"]
        );
    }

    #[test]
    fn constrained_nodes_are_placed_first() {
        // cn9 can only go to sn2; placing it first keeps the split even.
        let a = balance(&input(
            &[
                ("cn1", &["sn2", "sn3"]),
                ("cn2", &["sn2", "sn3"]),
                ("cn3", &["sn2", "sn3"]),
                ("cn9", &["sn2"]),
            ],
            &[],
        ));
        assert_eq!(a.dest["cn9"], "sn2");
        assert_eq!(counts(&a), [("sn2".into(), 2), ("sn3".into(), 2)].into());
    }

    #[test]
    fn capacity_weights_the_split_and_full_sns_come_last() {
        let nodes: Vec<(String, Vec<String>)> = names("cn", 9)
            .into_iter()
            .map(|n| (n, vec!["sn2".into(), "sn3".into()]))
            .collect();
        let a = balance(&Input {
            nodes: nodes.clone(),
            capacity: [("sn2".into(), 200), ("sn3".into(), 100)].into(),
            ..Default::default()
        });
        assert_eq!(counts(&a), [("sn2".into(), 6), ("sn3".into(), 3)].into());

        // sn2 is full: everything goes to sn3 while it has room; then both are full and the
        // last node goes where it overfills least (sn2: 11/10 against sn3: 9/8).
        let a = balance(&Input {
            nodes,
            load: [("sn2".into(), 10)].into(),
            capacity: [("sn2".into(), 10), ("sn3".into(), 8)].into(),
            ..Default::default()
        });
        assert_eq!(counts(&a), [("sn2".into(), 1), ("sn3".into(), 8)].into());
        assert_eq!(a.dest["cn9"], "sn2");
        assert_eq!(a.over_capacity, ["cn9"]);
    }

    #[test]
    fn deterministic_whatever_the_input_order() {
        let mut nodes: Vec<(String, Vec<String>)> = names("n", 50)
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                let pool = if i % 3 == 0 {
                    vec!["b".into(), "a".into(), "c".into()]
                } else {
                    vec!["a".into(), "c".into()]
                };
                (n, pool)
            })
            .collect();
        let one = balance(&Input {
            nodes: nodes.clone(),
            ..Default::default()
        });
        nodes.reverse();
        let two = balance(&Input {
            nodes,
            ..Default::default()
        });
        assert_eq!(one, two);
        let c = counts(&one);
        let (lo, hi) = (c.values().min().unwrap(), c.values().max().unwrap());
        assert!(hi - lo <= 1, "{c:?}");
    }

    #[test]
    fn ties_follow_the_pool_order() {
        let a = balance(&input(&[("cn1", &["sn3", "sn2"])], &[]));
        assert_eq!(a.dest["cn1"], "sn3");
    }

    #[test]
    fn nodes_of_one_pool_go_in_runs_not_alternating() {
        let nodes: Vec<(String, Vec<String>)> = (1..=8)
            .map(|i| {
                let pool = if i % 2 == 0 {
                    ["sn3", "sn2"]
                } else {
                    ["sn2", "sn3"]
                };
                (
                    format!("cn{i}"),
                    pool.iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect();
        let a = balance(&Input {
            nodes,
            ..Default::default()
        });
        let order: Vec<&str> = (1..=8)
            .map(|i| a.dest[&format!("cn{i}")].as_str())
            .collect();
        assert_eq!(
            order,
            ["sn2", "sn2", "sn2", "sn2", "sn3", "sn3", "sn3", "sn3"]
        );
    }
}
