//! Unit tests for every section of noderange.md beyond the conformance corpus.

mod common;

use common::*;
use noderange::{
    expand, resolve, GroupKind, MemorySource, NoderangeError, Options, DEFAULT_MAX_GENERATED,
    NODEHM_COLUMNS,
};

fn n10() -> MemorySource {
    let nodes: Vec<String> = names("node", 1, 10);
    let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
    world(&refs, &[("all", &refs)])
}

fn racks() -> MemorySource {
    world(
        &[
            "node1", "node2", "node3", "node4", "node5", "node6", "s1", "s2",
        ],
        &[
            (
                "all",
                &[
                    "node1", "node2", "node3", "node4", "node5", "node6", "s1", "s2",
                ],
            ),
            (
                "compute",
                &["node1", "node2", "node3", "node4", "node5", "node6"],
            ),
            ("rack1", &["node1", "node2"]),
            ("rack2", &["node3", "node4"]),
            ("storage", &["s1", "s2"]),
        ],
    )
}

// ---------------------------------------------------------------------------------------
// §1 interface and error model

#[test]
fn result_is_byte_sorted_and_unique() {
    let src = n10();
    assert_eq!(
        ok(&src, "node2,node10,node1,node2,node1-node2"),
        v(&["node1", "node10", "node2"])
    );
}

#[test]
fn missing_list_keeps_order_and_duplicates() {
    let src = n10();
    let e = ex(&src, "nosuch,node1,other,nosuch");
    assert_eq!(e.nodes, v(&["node1"]));
    assert_eq!(e.missing, v(&["nosuch", "other", "nosuch"]));
}

#[test]
fn missing_error_display_text() {
    let src = n10();
    let e = resolve(&src, "a,node1,b", &Options::default()).unwrap_err();
    assert_eq!(e, NoderangeError::Missing(v(&["a", "b"])));
    assert_eq!(
        e.to_string(),
        "Invalid nodes and/or groups in noderange: a,b"
    );
}

#[test]
fn empty_result_is_not_an_error() {
    let src = n10();
    assert!(ok(&src, "").is_empty());
    assert!(ok(&src, "node5-node1").is_empty());
}

#[test]
fn unbalanced_parentheses_are_fatal() {
    let src = n10();
    for r in ["(node1", "node1)(node2)", "((node1)", "a,(b", ")("] {
        let e = err(&src, r);
        assert_eq!(e, NoderangeError::UnbalancedParentheses, "{r}");
        assert_eq!(e.to_string(), "Unbalanced parentheses in noderange");
    }
    // A lone `)` without any `(` is not a parenthesis error: it is just an unknown name.
    assert_eq!(ex(&src, "node1)").missing, v(&["node1)"]));
}

// ---------------------------------------------------------------------------------------
// §2 top level

#[test]
fn quotes_are_deleted() {
    let src = n10();
    assert_eq!(ok(&src, "\"node1\",'node2'"), v(&["node1", "node2"]));
}

#[test]
fn parentheses_scope_exclusions() {
    let src = n10();
    assert_eq!(
        ok(&src, "(node1-node3,-node2),node2"),
        v(&["node1", "node2", "node3"])
    );
}

#[test]
fn quirk_exclusion_before_parentheses_only_applies_to_prefix() {
    let src = n10();
    assert_eq!(
        ok(&src, "-node2,(node1-node3)"),
        v(&["node1", "node2", "node3"])
    );
}

#[test]
fn quirk_minus_parentheses_subtracts_from_empty_prefix() {
    let src = racks();
    assert_eq!(
        ok(&src, "-(compute),node1-node3"),
        v(&["node1", "node2", "node3"])
    );
}

#[test]
fn parentheses_operators() {
    let src = racks();
    assert_eq!(
        ok(&src, "all,-(rack1,storage)"),
        v(&["node3", "node4", "node5", "node6"])
    );
    assert_eq!(
        ok(&src, "all@(rack1,storage)"),
        v(&["node1", "node2", "s1", "s2"])
    );
    assert_eq!(ok(&src, "(rack1,storage)@compute"), v(&["node1", "node2"]));
    assert_eq!(
        ok(&src, "(rack1),(rack2)"),
        v(&["node1", "node2", "node3", "node4"])
    );
    assert_eq!(ok(&src, "((rack1))"), v(&["node1", "node2"]));
    assert_eq!(
        ok(&src, "all,-(rack1),-(rack2),-storage"),
        v(&["node5", "node6"])
    );
}

#[test]
fn quirk_regex_with_parentheses_is_split() {
    let src = n10();
    let e = ex(&src, "/node(1|2)");
    assert!(e.nodes.is_empty());
    assert_eq!(e.missing, v(&["1|2"]));
}

#[test]
fn backslash_escapes_a_parenthesis_while_matching() {
    let src = n10();
    let e = ex(&src, "(node1\\),node2)");
    assert_eq!(e.nodes, v(&["node2"]));
    assert_eq!(e.missing, v(&["node1\\)"]));
}

#[test]
fn commas_inside_brackets_do_not_split() {
    let src = n10();
    assert_eq!(ok(&src, "node[1,2],node5"), v(&["node1", "node2", "node5"]));
    assert_eq!(
        ok(&src, "/node[1,2],node5"),
        v(&["node1", "node2", "node5"])
    );
}

#[test]
fn at_binds_tighter_than_comma() {
    let src = racks();
    // a,b@c = a ∪ (b ∩ c)
    assert_eq!(ok(&src, "s1,compute@rack1"), v(&["node1", "node2", "s1"]));
    // a@b,c = (a ∩ b) ∪ c
    assert_eq!(ok(&src, "compute@rack1,s1"), v(&["node1", "node2", "s1"]));
    assert_eq!(ok(&src, "all@compute@rack2"), v(&["node3", "node4"]));
}

#[test]
fn empty_elements_are_skipped() {
    let src = n10();
    assert_eq!(ok(&src, "node1,,node2"), v(&["node1", "node2"]));
    assert_eq!(ok(&src, "node1,"), v(&["node1"]));
    assert_eq!(ok(&src, ",node1"), v(&["node1"]));
}

#[test]
fn quirk_minus_after_at_still_intersects() {
    let src = racks();
    assert_eq!(ok(&src, "compute@-rack1"), v(&["node1", "node2"]));
}

#[test]
fn leading_at_intersects_with_empty_set() {
    let src = racks();
    assert!(ok(&src, "@compute").is_empty());
}

#[test]
fn exclusions_win_wherever_they_appear() {
    let src = n10();
    assert_eq!(
        ok(&src, "node1-node10,-node3-node5,node4"),
        v(&["node1", "node10", "node2", "node6", "node7", "node8", "node9"])
    );
    assert_eq!(ok(&src, "-node3-node10,all"), v(&["node1", "node2"]));
}

#[test]
fn pending_minus_survives_an_empty_element() {
    let src = n10();
    assert_eq!(ok(&src, "node1,node2,-,node2"), v(&["node1"]));
}

#[test]
fn excluded_names_are_validated() {
    let src = n10();
    let e = ex(&src, "all,-nosuch");
    assert_eq!(e.nodes.len(), 10);
    assert_eq!(e.missing, v(&["nosuch"]));
    let e = ex(&src, "all,-node9-node12");
    assert_eq!(e.nodes.len(), 8);
    assert_eq!(e.missing, v(&["node11", "node12"]));
}

// ---------------------------------------------------------------------------------------
// §3 atoms, rule by rule

#[test]
fn rule1_nodes_win_over_groups_and_are_case_sensitive() {
    let src = world(&["a", "b", "c"], &[("a", &["b", "c"])]);
    assert_eq!(ok(&src, "a"), v(&["a"]));
    assert_eq!(ex(&src, "A").missing, v(&["A"]));
    // A node name with range characters is found directly.
    let src = world(&["cn-02", "n[1]", "x+1", "p:q"], &[]);
    assert_eq!(
        ok(&src, "cn-02,n[1],x+1,p:q"),
        v(&["cn-02", "n[1]", "p:q", "x+1"])
    );
}

#[test]
fn rule2_parenthesised_atom() {
    let src = racks();
    assert_eq!(
        ok(&src, "(s1),(rack1@compute)"),
        v(&["node1", "node2", "s1"])
    );
}

#[test]
fn rule3_at_inside_atom_is_nested() {
    let src = racks();
    assert_eq!(ok(&src, "s2,all@rack2"), v(&["node3", "node4", "s2"]));
}

#[test]
fn rule4_dynamic_and_static_groups() {
    let mut src = racks();
    src.set_dynamic_group("dyn", Ok(v(&["node5", "s1"])));
    assert_eq!(ok(&src, "dyn"), v(&["node5", "s1"]));
    // A dynamic definition takes precedence over nodelist.groups membership.
    src.set_dynamic_group("rack1", Ok(v(&["node6"])));
    assert_eq!(ok(&src, "rack1"), v(&["node6"]));
    // An empty dynamic group is an existing empty group.
    src.set_dynamic_group("none", Ok(vec![]));
    assert!(ok(&src, "none").is_empty());
    // A failing dynamic group aborts.
    src.set_dynamic_group("bad", Err("broken criteria".into()));
    let e = expand(&src, "bad", &Options::default()).unwrap_err();
    assert_eq!(
        e,
        NoderangeError::DynamicGroup {
            group: "bad".into(),
            reason: "broken criteria".into()
        }
    );
}

#[test]
fn rule4_static_group_membership_is_whole_item() {
    let mut src = MemorySource::new();
    src.add_node_groups_str("n1", "abcabc,x");
    src.add_node_groups_str("n2", "abc");
    assert_eq!(ok(&src, "abc"), v(&["n2"]));
    assert_eq!(ok(&src, "abcabc"), v(&["n1"]));
    assert_eq!(ex(&src, "ab").missing, v(&["ab"]));
}

#[test]
fn rule5_defined_empty_group_is_not_missing() {
    let src = world(&["node1"], &[("empty", &[])]);
    let e = ex(&src, "empty");
    assert!(e.nodes.is_empty() && e.missing.is_empty());
    assert_eq!(ex(&src, "undefinedgroup").missing, v(&["undefinedgroup"]));
}

#[test]
fn rule6_selector_is_never_missing() {
    let src = n10();
    let e = ex(&src, "nosuch.table==x,foo=bar");
    assert!(e.nodes.is_empty() && e.missing.is_empty());
}

#[test]
fn rule7_digits_get_prefix_and_suffix() {
    let src = world(&["node5", "node05", "node42"], &[("42", &["node5"])]);
    assert_eq!(ok(&src, "5"), v(&["node5"]));
    assert_eq!(ok(&src, "05"), v(&["node05"]));
    // A group named all digits cannot be selected by name.
    assert_eq!(ok(&src, "42"), v(&["node42"]));
    let src = world(&["cn5.lab", "cn6.lab"], &[]);
    let opts = Options {
        prefix: "cn".into(),
        suffix: ".lab".into(),
        ..Options::default()
    };
    assert_eq!(
        resolve(&src, "5,6", &opts).unwrap(),
        v(&["cn5.lab", "cn6.lab"])
    );
    assert_eq!(
        resolve(&src, "5+1", &opts).unwrap(),
        v(&["cn5.lab", "cn6.lab"])
    );
}

#[test]
fn rule8_group_members() {
    let src = racks();
    assert_eq!(ok(&src, "storage"), v(&["s1", "s2"]));
}

#[test]
fn rule13_unknown_name() {
    let src = n10();
    assert_eq!(ex(&src, "foo").missing, v(&["foo"]));
    assert_eq!(noverify(&src, "foo").nodes, v(&["foo"]));
}

#[test]
fn generated_names_are_resolved_again() {
    // node2 is a group here: node1-node3 gives node1, node2's members, node3.
    let src = world(&["node1", "node3", "x", "y"], &[("node2", &["x", "y"])]);
    assert_eq!(ok(&src, "node1-node3"), v(&["node1", "node3", "x", "y"]));
    let src = world(
        &["a1", "b1", "c1"],
        &[("group1", &["a1"]), ("group2", &["b1"])],
    );
    let e = ex(&src, "group1-group3");
    assert_eq!(e.nodes, v(&["a1", "b1"]));
    assert_eq!(e.missing, v(&["group3"]));
}

#[test]
fn group_names_with_dots() {
    let src = world(&["n1", "n2"], &[("rh4.1234567890", &["n1"])]);
    assert_eq!(ok(&src, "rh4.1234567890"), v(&["n1"]));
    assert_eq!(ok(&src, "groups==rh4.1234567890"), v(&["n1"]));
    assert_eq!(ok(&src, "groups=~rh4.123456789"), v(&["n1"]));
}

// ---------------------------------------------------------------------------------------
// §4 regular expressions

#[test]
fn regex_is_anchored_and_matches_nodes_only() {
    let src = world(
        &[
            "node1",
            "node10",
            "node2",
            "node3",
            "node20",
            "node30",
            "node21234",
            "node4",
            "xnode2",
        ],
        &[("group1", &["node1"]), ("group2", &["node2"])],
    );
    assert_eq!(ok(&src, "/node1"), v(&["node1"]));
    assert_eq!(
        ok(&src, "/node[23].*"),
        v(&["node2", "node20", "node21234", "node3", "node30"])
    );
    assert!(ok(&src, "/group[12].*").is_empty());
    assert!(ok(&src, "/NODE1").is_empty());
    assert!(ok(&src, "/").is_empty());
}

#[test]
fn quirk_regex_alternation_escapes_anchors() {
    let src = world(
        &["node1", "node10", "node11", "node2", "xnode2", "node22"],
        &[],
    );
    assert_eq!(
        ok(&src, "/node1|node2"),
        v(&["node1", "node10", "node11", "node2", "xnode2"])
    );
}

#[test]
fn regex_without_verify_is_literal() {
    let src = n10();
    assert_eq!(noverify(&src, "/node.*").nodes, v(&["/node.*"]));
}

#[test]
fn invalid_regex_is_an_error() {
    let src = n10();
    match err(&src, "/node[") {
        NoderangeError::InvalidRegex { pattern, .. } => assert_eq!(pattern, "node["),
        e => panic!("{e:?}"),
    }
    match err(&src, "groups=~a[") {
        NoderangeError::InvalidRegex { pattern, .. } => assert_eq!(pattern, "a["),
        e => panic!("{e:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// §5.1 dash and colon ranges

#[test]
fn even_dash_count_is_not_a_range() {
    let src = n10();
    assert_eq!(ex(&src, "n-1-n2").missing, v(&["n-1-n2"]));
    assert_eq!(
        ex(&src, "node1-node2-node3").missing,
        v(&["node1-node2-node3"])
    );
    assert_eq!(noverify(&src, "n-1-n2").nodes, v(&["n-1-n2"]));
}

#[test]
fn odd_dash_count_splits_at_middle_dash() {
    let src = world(&["cn-01", "cn-02", "cn-03"], &[]);
    assert_eq!(ok(&src, "cn-01-cn-03"), v(&["cn-01", "cn-02", "cn-03"]));
    let src = world(&["node1-compute", "node2-compute", "node3-compute"], &[]);
    assert_eq!(
        ok(&src, "node1-compute-node3-compute"),
        v(&["node1-compute", "node2-compute", "node3-compute"])
    );
}

#[test]
fn equal_sides_give_the_left_atom() {
    let src = n10();
    assert_eq!(ok(&src, "node3-node3"), v(&["node3"]));
    assert_eq!(ok(&src, "node3:node3"), v(&["node3"]));
}

#[test]
fn mismatched_pieces_are_missing_or_literal() {
    let src = n10();
    for r in [
        "node1-",
        "compute-node3",
        "[1-3]",
        "nodeA1-nodeB1",
        "node1a-node3b",
        "r1n1-r2n3",
    ] {
        assert_eq!(ex(&src, r).missing, v(&[r]), "{r}");
        assert_eq!(noverify(&src, r).nodes, v(&[r]), "{r}");
    }
}

#[test]
fn one_iterator_and_identical_suffixes() {
    let src = world(&["node1a", "node2a", "node3a", "r1n1", "r2n1"], &[]);
    assert_eq!(
        ok(&src, "node1a-node3a"),
        v(&["node1a", "node2a", "node3a"])
    );
    assert_eq!(ok(&src, "r1n1-r2n1"), v(&["r1n1", "r2n1"]));
}

#[test]
fn plain_number_and_colon_ranges() {
    let src = n10();
    assert_eq!(ok(&src, "8-10"), v(&["node10", "node8", "node9"]));
    assert_eq!(ok(&src, "1:3"), v(&["node1", "node2", "node3"]));
    assert_eq!(ok(&src, "node1:node3"), v(&["node1", "node2", "node3"]));
}

#[test]
fn colon_range_right_side_ends_at_second_colon() {
    // Perl's `($l, $r) = split /:/` keeps only the first two fields.
    let src = n10();
    assert_eq!(
        ok(&src, "node1:node3:junk"),
        v(&["node1", "node2", "node3"])
    );
}

#[test]
fn full_domain_names_in_ranges() {
    let src = world(
        &[
            "node1.cluster.com",
            "node2.cluster.com",
            "node3.cluster.com",
        ],
        &[],
    );
    assert_eq!(
        ok(&src, "node1.cluster.com-node3.cluster.com"),
        v(&[
            "node1.cluster.com",
            "node2.cluster.com",
            "node3.cluster.com"
        ])
    );
}

// ---------------------------------------------------------------------------------------
// §5.2 bracket ranges

#[test]
fn bracket_ranges() {
    let src = world(
        &[
            "node1", "node2", "node3", "node7", "node01", "node02", "n1b", "n2b", "n3b",
        ],
        &[],
    );
    assert_eq!(
        ok(&src, "node[1-3,7]"),
        v(&["node1", "node2", "node3", "node7"])
    );
    assert_eq!(ok(&src, "node[01-02]"), v(&["node01", "node02"]));
    assert_eq!(ok(&src, "node[1:3]"), v(&["node1", "node2", "node3"]));
    assert_eq!(ok(&src, "n[1-3]b"), v(&["n1b", "n2b", "n3b"]));
    assert_eq!(ok(&src, "node[1,3]"), v(&["node1", "node3"]));
}

#[test]
fn multi_bracket_ranges() {
    let all: Vec<String> = ["f1n1", "f1n2", "f1n3", "f2n1", "f2n2", "f2n3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let src = world(&refs, &[]);
    assert_eq!(ok(&src, "f[1-2]n[1-3]"), all);
    // Only the innermost dimension is validated.
    let src = world(
        &["rack1node1", "rack1node2", "rack2node1", "rack2node2"],
        &[],
    );
    let e = ex(&src, "rack[1-2]node[1-3]");
    assert_eq!(e.nodes.len(), 4);
    assert_eq!(e.missing, v(&["rack1node3", "rack2node3"]));
    // Outer dimensions are textual: a group named like an outer prefix is not expanded.
    let src = world(&["a1b1", "a2b1", "x"], &[("a1", &["x"])]);
    assert_eq!(ok(&src, "a[1-2]b[1]"), v(&["a1b1", "a2b1"]));
}

#[test]
fn three_dimensional_brackets() {
    let mut src = MemorySource::new();
    for a in 1..=2 {
        for b in 1..=2 {
            for c in 1..=2 {
                src.add_node(&format!("a{a}b{b}c{c}"), &[]);
            }
        }
    }
    assert_eq!(ok(&src, "a[1-2]b[1-2]c[1-2]").len(), 8);
}

// ---------------------------------------------------------------------------------------
// §5.3 increment ranges

#[test]
fn increment_ranges() {
    let src = MemorySource::with_nodes(
        names("node", 1, 120)
            .into_iter()
            .chain(["node08", "node09", "node009", "node010", "node011"].map(String::from))
            .chain(["rack1node10", "rack1node11", "rack1node12"].map(String::from)),
    );
    assert_eq!(ok(&src, "node10+3"), names("node", 10, 13));
    assert_eq!(
        ok(&src, "node08+3"),
        v(&["node08", "node09", "node10", "node11"])
    );
    assert_eq!(ok(&src, "node009+2"), v(&["node009", "node010", "node011"]));
    assert_eq!(ok(&src, "node98+3"), sorted(names("node", 98, 101)));
    assert_eq!(ok(&src, "node1+0"), v(&["node1"]));
    assert_eq!(
        ok(&src, "rack1node10+2"),
        v(&["rack1node10", "rack1node11", "rack1node12"])
    );
    assert_eq!(ok(&src, "10+3"), names("node", 10, 13));
}

#[test]
fn increment_with_domain() {
    let src = world(&["n1.cluster.com", "n2.cluster.com", "n3.cluster.com"], &[]);
    assert_eq!(
        ok(&src, "n1.cluster.com+2"),
        v(&["n1.cluster.com", "n2.cluster.com", "n3.cluster.com"])
    );
}

#[test]
fn increment_without_number_is_an_error() {
    let src = n10();
    assert_eq!(
        err(&src, "abc+2"),
        NoderangeError::InvalidIncrement("abc+2".into())
    );
    assert_eq!(
        err(&src, "a12b+2"),
        NoderangeError::InvalidIncrement("a12b+2".into())
    );
}

// ---------------------------------------------------------------------------------------
// §5.4 iterator

#[test]
fn padded_ranges_keep_padding() {
    let src = MemorySource::with_nodes([
        "node008", "node009", "node010", "node011", "node098", "node099", "node100",
    ]);
    assert_eq!(
        ok(&src, "node008-node011"),
        v(&["node008", "node009", "node010", "node011"])
    );
    assert_eq!(
        ok(&src, "node098-node100"),
        v(&["node098", "node099", "node100"])
    );
}

#[test]
fn padded_range_to_wider_bound() {
    let e = noverify(&MemorySource::new(), "node01-node100");
    assert_eq!(e.nodes.len(), 100);
    assert!(e.nodes.contains(&"node01".to_string()));
    assert!(e.nodes.contains(&"node99".to_string()));
    assert!(e.nodes.contains(&"node100".to_string()));
}

#[test]
fn quirk_padded_left_longer_than_right_is_empty() {
    let src = n10();
    let e = ex(&src, "node01-node5");
    assert!(e.nodes.is_empty() && e.missing.is_empty());
}

#[test]
fn quirk_padded_descending_runs_to_width_limit() {
    let e = noverify(&MemorySource::new(), "node08-node07");
    assert_eq!(e.nodes.len(), 92);
    assert_eq!(e.nodes.first().unwrap(), "node08");
    assert_eq!(e.nodes.last().unwrap(), "node99");
}

#[test]
fn numeric_ranges() {
    let src = n10();
    assert_eq!(ok(&src, "node1-node05"), sorted(names("node", 1, 5)));
    let src = MemorySource::with_nodes(["node9", "node10", "node11"]);
    assert_eq!(ok(&src, "node9-node11"), v(&["node10", "node11", "node9"]));
    let e = ex(&n10(), "node5-node1");
    assert!(e.nodes.is_empty() && e.missing.is_empty());
}

#[test]
fn unpadded_range_over_padded_names() {
    let mut nodes: Vec<String> = (1..=9).map(|i| format!("node0{i}")).collect();
    nodes.push("node10".into());
    let src = MemorySource::with_nodes(&nodes);
    let e = ex(&src, "node1-node10");
    assert_eq!(e.nodes, v(&["node10"]));
    assert_eq!(e.missing, names("node", 1, 9));
}

#[test]
fn huge_ranges_fail_fast_or_are_empty() {
    let src = n10();
    match err(&src, "node1-node99999999999999999999") {
        NoderangeError::RangeTooLarge { atom, limit } => {
            assert_eq!(atom, "node1-node99999999999999999999");
            assert_eq!(limit, DEFAULT_MAX_GENERATED);
        }
        e => panic!("{e:?}"),
    }
    assert!(ok(&src, "node99999999999999999999-node1").is_empty());
    assert!(matches!(
        err(&src, "node0-node99999999999999999999999999999999999999999"),
        NoderangeError::RangeTooLarge { .. }
    ));
    assert!(matches!(
        err(&src, "node1+99999999999999999999999"),
        NoderangeError::RangeTooLarge { .. }
    ));
    assert!(matches!(
        err(&src, "a[1-100000]b[1-100000]"),
        NoderangeError::RangeTooLarge { .. }
    ));
    // Small ranges of huge numbers are exact.
    let e = noverify(&src, "n99999999999999999999998-n100000000000000000000000");
    assert_eq!(
        e.nodes,
        v(&[
            "n100000000000000000000000",
            "n99999999999999999999998",
            "n99999999999999999999999"
        ])
    );
}

#[test]
fn generation_limit_is_configurable() {
    let src = n10();
    let opts = Options {
        max_generated: 5,
        verify: false,
        ..Options::default()
    };
    assert_eq!(expand(&src, "x1-x5", &opts).unwrap().nodes.len(), 5);
    assert!(matches!(
        expand(&src, "x1-x6", &opts),
        Err(NoderangeError::RangeTooLarge { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// §6 attribute selectors

fn attrs() -> MemorySource {
    let mut src = world(
        &["a1", "a2", "b1", "b2", "lonely"],
        &[
            ("alpha", &["a1", "a2"]),
            ("beta", &["b1", "b2"]),
            ("extra", &["a2"]),
        ],
    );
    src.add_table("nodehm", NODEHM_COLUMNS);
    src.set_attribute("nodehm", "mgt", "a1", "ipmi");
    src.set_attribute("nodehm", "mgt", "a2", "ipmi");
    src.set_attribute("nodehm", "mgt", "b1", "openbmc");
    src.set_attribute("nodehm", "cons", "a1", "hmc");
    src.add_table("nodetype", &["node", "os", "arch"]);
    src
}

#[test]
fn selector_operators() {
    let src = attrs();
    assert_eq!(ok(&src, "nodehm.mgt==ipmi"), v(&["a1", "a2"]));
    assert_eq!(ok(&src, "nodehm.mgt=ipmi"), v(&["a1", "a2"]));
    assert_eq!(ok(&src, "nodehm.mgt!=ipmi"), v(&["b1", "b2", "lonely"]));
    assert_eq!(ok(&src, "nodehm.mgt=~bmc"), v(&["b1"]));
    assert_eq!(ok(&src, "nodehm.mgt=~/^ip/"), v(&["a1", "a2"]));
    assert_eq!(ok(&src, "nodehm.mgt!~ipmi"), v(&["b1", "b2", "lonely"]));
    assert_eq!(ok(&src, "nodehm.mgt!~/./"), v(&["b2", "lonely"]));
    assert_eq!(ok(&src, "mgt==openbmc"), v(&["b1"]));
    assert_eq!(
        ok(&src, "nodehm.cons!=hmc"),
        v(&["a2", "b1", "b2", "lonely"])
    );
}

#[test]
fn selector_on_groups_compares_whole_value() {
    let src = attrs();
    assert_eq!(ok(&src, "groups==alpha"), v(&["a1"]));
    assert_eq!(ok(&src, "tags==beta"), v(&["b1", "b2"]));
    // A comma always separates elements, so a selector value cannot contain one.
    assert_eq!(ok(&src, "groups==alpha,extra"), v(&["a1", "a2"]));
    assert_eq!(ok(&src, "groups=="), v(&["lonely"]));
    assert_eq!(ok(&src, "groups=~alpha"), v(&["a1", "a2"]));
    assert_eq!(ok(&src, "nodelist.groups==beta"), v(&["b1", "b2"]));
}

#[test]
fn selectors_combine_like_atoms() {
    let src = attrs();
    assert_eq!(ok(&src, "groups==beta,lonely"), v(&["b1", "b2", "lonely"]));
    assert_eq!(ok(&src, "a1-a2@nodehm.mgt==ipmi"), v(&["a1", "a2"]));
    assert_eq!(ok(&src, "alpha,beta,-nodehm.mgt==ipmi"), v(&["b1", "b2"]));
}

#[test]
fn selector_unknown_table_or_column_selects_nothing() {
    let src = attrs();
    for r in [
        "nosuch.col==x",
        "nosuch.col!=x",
        "nodehm.nosuch!=x",
        "nodehm!=x",
        "cons!=x",
        "nodehm.mgt~ipmi",
    ] {
        let e = ex(&src, r);
        assert!(e.nodes.is_empty() && e.missing.is_empty(), "{r}: {e:?}");
    }
    // Existing table without matching rows: == selects nothing, != everything.
    assert!(ok(&src, "nodetype.os==rhels8").is_empty());
    assert_eq!(ok(&src, "nodetype.os!=rhels8").len(), 5);
    // xCAT's unanchored column check lets a partial column name through; it has no values.
    assert_eq!(ok(&src, "nodehm.con!=x").len(), 5);
    assert!(ok(&src, "nodehm.con==hmc").is_empty());
}

// ---------------------------------------------------------------------------------------
// §7 file includes

fn with_file(content: &str) -> MemorySource {
    let mut src = n10();
    src.add_file("/tmp/f", content);
    src.add_file("/tmp/g", "node9\n");
    src
}

#[test]
fn file_lines_and_comments() {
    let src = with_file("#comment\n^/tmp/other\nnode1    # trailing\nnode2\tx\nnode3:foo\n\nnode4-node5\n/node1.*\n");
    assert_eq!(
        ok(&src, "^/tmp/f"),
        v(&["node1", "node10", "node2", "node3", "node4", "node5"])
    );
    // Last line without newline.
    let src = with_file("node1\nnode2");
    assert_eq!(ok(&src, "^/tmp/f"), v(&["node1", "node2"]));
    // Whole noderanges per line.
    let src = with_file("node1,node2@all,-node1\n");
    assert_eq!(ok(&src, "^/tmp/f"), v(&["node2"]));
}

#[test]
fn unreadable_file_is_ignored() {
    let src = n10();
    let e = ex(&src, "node1,^/no/such/file");
    assert_eq!(e.nodes, v(&["node1"]));
    assert!(e.missing.is_empty());
}

#[test]
fn file_path_is_trimmed() {
    let src = with_file("node1\n");
    assert_eq!(ok(&src, "^ /tmp/f "), v(&["node1"]));
}

#[test]
fn quirk_file_minus_line_excludes_nothing() {
    let src = with_file("node1-node3\n-node2\n");
    assert_eq!(ok(&src, "^/tmp/f"), v(&["node1", "node2", "node3"]));
}

#[test]
fn quirk_file_elements_ignore_operators() {
    let src = with_file("node5\n");
    // -^f adds, and the minus moves to the next element.
    assert_eq!(ok(&src, "node1,-^/tmp/f,node3"), v(&["node1", "node5"]));
    assert_eq!(
        ok(&src, "node1,node3,-^/tmp/f,node3"),
        v(&["node1", "node5"])
    );
    // g@^f adds too.
    let src = {
        let mut s = racks();
        s.add_file("/tmp/f", "s1\n");
        s
    };
    assert_eq!(ok(&src, "rack1@^/tmp/f"), v(&["node1", "node2", "s1"]));
    assert_eq!(ok(&src, "compute@^/tmp/f@rack2"), v(&["node3", "node4"]));
}

#[test]
fn quirk_file_lines_restart_missing_list() {
    let src = with_file("nosuch1\nnode1\n");
    // Unknown names before the file element, or in earlier lines, are forgotten.
    let e = ex(&src, "nosuch,^/tmp/f");
    assert_eq!(e.nodes, v(&["node1"]));
    assert!(e.missing.is_empty());
    // After the file element they are reported.
    assert_eq!(ex(&src, "^/tmp/f,nosuch").missing, v(&["nosuch"]));
    // A file whose last line is unknown is an error.
    let src = with_file("node1\nnosuch2\n");
    assert_eq!(ex(&src, "nosuch,^/tmp/f").missing, v(&["nosuch2"]));
    // Blank lines restart it too.
    let src = with_file("nosuch2\n\n");
    assert!(ex(&src, "^/tmp/f").missing.is_empty());
}

#[test]
fn file_missing_list_is_kept_when_nested() {
    // Inside parentheses the file lines are nested calls and keep the list.
    let src = with_file("nosuch1\nnode1\n");
    let e = ex(&src, "(nosuch,^/tmp/f)");
    assert_eq!(e.nodes, v(&["node1"]));
    assert_eq!(e.missing, v(&["nosuch", "nosuch1"]));
}

#[test]
fn quirk_nested_file_include_ends_outer_file() {
    let src = with_file("node1\nnode2,^/tmp/g\nnode3\n");
    assert_eq!(ok(&src, "^/tmp/f"), v(&["node1", "node2", "node9"]));
    // Even a file that cannot be opened.
    let src = with_file("node1\nnode2,^/tmp/none\nnode3\n");
    assert_eq!(ok(&src, "^/tmp/f"), v(&["node1", "node2"]));
}

#[test]
fn self_including_file_hits_recursion_limit() {
    let src = with_file("node1,^/tmp/f\n");
    assert_eq!(err(&src, "^/tmp/f"), NoderangeError::TooDeep);
}

#[test]
fn crlf_file_lines_keep_the_carriage_return() {
    let src = with_file("node1\r\n");
    assert_eq!(ex(&src, "^/tmp/f").missing, v(&["node1\r"]));
}

// ---------------------------------------------------------------------------------------
// §8 verify = false

#[test]
fn verify_false() {
    let src = racks();
    let e = noverify(&src, "nosuch,n-1-n2,/node.*,node5-node8,rack1,s1,-other");
    assert_eq!(
        e.nodes,
        v(&[
            "/node.*", "n-1-n2", "node1", "node2", "node5", "node6", "node7", "node8", "nosuch",
            "s1"
        ])
    );
    assert!(e.missing.is_empty());
    let mut src = racks();
    src.add_table("nodehm", NODEHM_COLUMNS);
    src.set_attribute("nodehm", "mgt", "s2", "ipmi");
    assert_eq!(noverify(&src, "mgt==ipmi").nodes, v(&["s2"]));
    assert_eq!(noverify(&src, "rack1,-node1,-nosuch").nodes, v(&["node2"]));
    assert!(noverify(&src, "empty1,-x").missing.is_empty());
}

// ---------------------------------------------------------------------------------------
// §9 site.excludenodes

fn excl(ex: &str) -> Options {
    Options {
        excludenodes: Some(ex.to_string()),
        ..Options::default()
    }
}

#[test]
fn excludenodes_are_subtracted_everywhere() {
    let src = racks();
    let opts = excl("rack1,s2");
    assert_eq!(
        ex_with(&src, "all", &opts).nodes,
        v(&["node3", "node4", "node5", "node6", "s1"])
    );
    // An excluded node cannot be selected even by name.
    assert!(ex_with(&src, "node1", &opts).nodes.is_empty());
    // Nested evaluations apply it too.
    assert_eq!(ex_with(&src, "(node1,node3)", &opts).nodes, v(&["node3"]));
    // Not when disabled, at top level.
    let off = Options {
        use_site_exclude: false,
        ..opts.clone()
    };
    assert_eq!(
        ex_with(&src, "node1,node3", &off).nodes,
        v(&["node1", "node3"])
    );
    // ...but xCAT's nested `@` evaluations always apply it.
    assert_eq!(ex_with(&src, "s1,all@rack1", &off).nodes, v(&["s1"]));
    // "0" is false in Perl.
    assert_eq!(ex_with(&src, "node1", &excl("0")).nodes, v(&["node1"]));
}

#[test]
fn quirk_excludenodes_restart_missing_list() {
    let src = racks();
    let e = ex_with(&src, "node1,nosuch", &excl("s2"));
    assert_eq!(e.nodes, v(&["node1"]));
    assert!(e.missing.is_empty());
    assert_eq!(
        resolve(&src, "nosuch", &excl("s2")).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn quirk_excludenodes_unknown_name_reported_everywhere() {
    let src = racks();
    let e = ex_with(&src, "node1", &excl("bogus"));
    assert_eq!(e.nodes, v(&["node1"]));
    assert_eq!(e.missing, v(&["bogus"]));
    assert_eq!(
        resolve(&src, "node1", &excl("bogus"))
            .unwrap_err()
            .to_string(),
        "Invalid nodes and/or groups in noderange: bogus"
    );
    // Even without verify.
    let opts = Options {
        verify: false,
        ..excl("bogus")
    };
    assert_eq!(ex_with(&src, "x", &opts).missing, v(&["bogus"]));
}

// ---------------------------------------------------------------------------------------
// Robustness

#[test]
fn deep_nesting_is_bounded_without_stack_overflow() {
    let src = n10();
    let deep = format!("{}node1{}", "(".repeat(4200), ")".repeat(4200));
    assert_eq!(err(&src, &deep), NoderangeError::TooDeep);
    let ok_depth = format!("{}node1{}", "(".repeat(1000), ")".repeat(1000));
    assert_eq!(ok(&src, &ok_depth), v(&["node1"]));
    // Nested `@` atoms inside parentheses.
    let deep_at = format!("{}node1{}", "(all@".repeat(4200), ")".repeat(4200));
    assert_eq!(err(&src, &deep_at), NoderangeError::TooDeep);
    let at = format!("{}node1{}", "(all@".repeat(500), ")".repeat(500));
    assert_eq!(ok(&src, &at), v(&["node1"]));
}

#[test]
fn endless_digit_prefix_recursion_is_bounded() {
    let src = n10();
    let opts = Options {
        prefix: String::new(),
        ..Options::default()
    };
    assert_eq!(expand(&src, "5", &opts), Err(NoderangeError::TooDeep));
    let opts = Options {
        prefix: "1+".into(),
        ..Options::default()
    };
    assert!(expand(&src, "5", &opts).is_err());
}

#[test]
fn excludenodes_with_nested_atoms_terminate() {
    // Nested evaluations apply excludenodes, which itself nests: xCAT recurses forever.
    let src = racks();
    let e = expand(&src, "node1", &excl("s1,all@rack1"));
    assert_eq!(e, Err(NoderangeError::TooDeep));
}

#[test]
fn non_ascii_input() {
    let mut src = MemorySource::new();
    for n in ["nöde1", "nöde2", "nöde3", "ü1", "ü2"] {
        src.add_node(n, &["grüppe"]);
    }
    src.define_group("grüppe", GroupKind::Static);
    assert_eq!(ok(&src, "nöde1-nöde3"), v(&["nöde1", "nöde2", "nöde3"]));
    assert_eq!(ok(&src, "ü[1-2]"), v(&["ü1", "ü2"]));
    assert_eq!(ok(&src, "ü1+1"), v(&["ü1", "ü2"]));
    assert_eq!(ok(&src, "grüppe,-nöde2").len(), 4);
    assert_eq!(ok(&src, "/nöde.").len(), 3);
    for r in [
        "é+1",
        "é-é",
        "[é]",
        "x[é]y[é]",
        "é:é",
        "(é)",
        "\\é(",
        "日本-語",
        "é=é",
        "€1-€3",
    ] {
        let _ = expand(&src, r, &Options::default());
    }
}
