//! Reading the hosts table's own conventions.

/// `hosts.otherinterfaces` of `node` (`NAME:IP,...`): each alias with its address text, in
/// order; a name starting with `-` is a suffix of the node's name (`-eth1` names `NODE-eth1`).
/// Entries without a `:` are skipped.
pub fn other_interfaces<'a>(
    node: &'a str,
    value: &'a str,
) -> impl Iterator<Item = (String, &'a str)> + 'a {
    value.split(',').filter_map(move |entry| {
        let (name, ip) = entry.trim().rsplit_once(':')?;
        let name = match name.strip_prefix('-') {
            Some(suffix) => format!("{node}-{suffix}"),
            None => name.to_string(),
        };
        Some((name, ip.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_with_their_addresses_and_suffixes_of_the_node_name() {
        let got: Vec<(String, &str)> =
            other_interfaces("sn1", "-eth1:10.9.16.11, sn1-ib: 10.9.32.11,junk,,x:").collect();
        assert_eq!(
            got,
            [
                ("sn1-eth1".to_string(), "10.9.16.11"),
                ("sn1-ib".to_string(), "10.9.32.11"),
                ("x".to_string(), ""),
            ]
        );
    }
}
