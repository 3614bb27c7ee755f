//! What a server write transaction knows about which keys exist, so that an update of a key
//! known to have no row answers "0 rows" without a round trip.
//!
//! Why: the store interface is one statement per row, and `objects::upsert` (every takeover
//! change) tries an UPDATE before an INSERT. On a server each statement is a network round
//! trip, and a node without a row of its own (values inherited from a group row, the usual
//! case) costs two. The takeover has just read those keys (`Filter::In` on the key column, or a
//! table scan), so the answer is known.
//!
//! Why it is safe: only in write transactions, which hold the table against every other writer
//! from their first statement on it (PostgreSQL: `LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE`;
//! MySQL: locking reads, whose next-key locks keep other writers from inserting the keys read
//! or the gaps scanned), and the transaction's own inserts and deletes update it. Lookups see
//! disabled rows too (the select asks the server for the `disable` test as a column instead of
//! filtering). Keys are compared folded (ASCII lowercase, trailing spaces dropped), so that a
//! case- or pad-insensitive collation (MySQL's default) can only make the cache forget, never
//! claim a key absent that the server would match; keys that are not plain ASCII are never
//! claimed absent.

use crate::backend::{Filter, Row};
use crate::schema::TableSpec;
use std::collections::{HashMap, HashSet};

#[derive(Default)]
struct TableKeys {
    /// `present` is every key of the table (a full scan was made).
    complete: bool,
    /// Folded keys known to have a row.
    present: HashSet<String>,
    /// Folded keys known to have none.
    absent: HashSet<String>,
}

#[derive(Default)]
pub(crate) struct KeyCache {
    tables: HashMap<String, TableKeys>,
}

/// The folded form of a plain-ASCII key; `None` for anything else.
fn fold(k: &str) -> Option<String> {
    if !k.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    Some(k.trim_end_matches(' ').to_ascii_lowercase())
}

/// The table's key column, when the key is one column and not the auto-increment one.
pub(crate) fn key_column(t: &TableSpec) -> Option<&str> {
    match t.primary_key.as_slice() {
        [k] if t.autoincrement() != Some(k.as_str()) => Some(k.as_str()),
        _ => None,
    }
}

impl KeyCache {
    /// A full scan returned these keys (disabled rows included).
    pub fn saw_scan<'k>(&mut self, t: &TableSpec, keys: impl Iterator<Item = Option<&'k str>>) {
        let mut tk = TableKeys {
            complete: true,
            ..Default::default()
        };
        for k in keys {
            match k.and_then(fold) {
                Some(f) => {
                    tk.present.insert(f);
                }
                // A NULL or non-ASCII key: no inference from this scan.
                None => tk.complete = false,
            }
        }
        self.tables.insert(t.name.clone(), tk);
    }

    /// A lookup of `asked` keys returned rows with these keys (disabled rows included).
    pub fn saw_lookup<'k>(
        &mut self,
        t: &TableSpec,
        asked: &[String],
        found: impl Iterator<Item = Option<&'k str>>,
    ) {
        let mut seen = HashSet::new();
        for k in found {
            match k.and_then(fold) {
                Some(f) => {
                    seen.insert(f);
                }
                None => return,
            }
        }
        let tk = self.tables.entry(t.name.clone()).or_default();
        for k in asked {
            if let Some(f) = fold(k) {
                if seen.contains(&f) {
                    tk.absent.remove(&f);
                    tk.present.insert(f);
                } else {
                    tk.absent.insert(f);
                }
            }
        }
    }

    /// Is there certainly no row with this key?
    pub fn known_absent(&self, t: &TableSpec, key: &[(&str, &str)]) -> bool {
        let ([(col, v)], Some(kc)) = (key, key_column(t)) else {
            return false;
        };
        let (Some(tk), Some(f)) = (self.tables.get(&t.name), fold(v)) else {
            return false;
        };
        *col == kc && (tk.absent.contains(&f) || (tk.complete && !tk.present.contains(&f)))
    }

    /// A row was inserted with these values.
    pub fn inserted(&mut self, t: &TableSpec, columns: &[&str], values: &[Option<String>]) {
        let Some(kc) = key_column(t) else { return };
        let key = columns
            .iter()
            .position(|c| *c == kc)
            .and_then(|i| values.get(i))
            .and_then(|v| v.as_deref());
        match key.and_then(fold) {
            Some(f) => {
                if let Some(tk) = self.tables.get_mut(&t.name) {
                    tk.absent.remove(&f);
                    tk.present.insert(f);
                }
            }
            None => self.forget(t),
        }
    }

    /// Rows with this key were deleted.
    pub fn deleted(&mut self, t: &TableSpec, key: &[(&str, &str)]) {
        match (key, key_column(t)) {
            ([(col, v)], Some(kc)) if *col == kc => {
                if let (Some(tk), Some(f)) = (self.tables.get_mut(&t.name), fold(v)) {
                    tk.present.remove(&f);
                    tk.absent.insert(f);
                }
            }
            // Deleted by another column: which keys went is unknown, but none appeared.
            _ => {
                if let Some(tk) = self.tables.get_mut(&t.name) {
                    tk.complete = false;
                    tk.present.clear();
                }
            }
        }
    }

    /// Every row was deleted.
    pub fn deleted_all(&mut self, t: &TableSpec) {
        self.tables.insert(
            t.name.clone(),
            TableKeys {
                complete: true,
                ..Default::default()
            },
        );
    }

    /// Forget the table (an update of its key column, a bulk insert).
    pub fn forget(&mut self, t: &TableSpec) {
        self.tables.remove(&t.name);
    }

    /// An update: forget the table if it may have changed a key.
    pub fn updated(&mut self, t: &TableSpec, set: &[(&str, Option<String>)]) {
        if set.iter().any(|(c, _)| t.is_key(c)) {
            self.forget(t);
        }
    }
}

/// The key column a write transaction's select learns from: the table's single key column,
/// when the select scans the table or looks that column up.
pub(crate) fn learning_key<'t>(t: &'t TableSpec, filter: &Filter<'_>) -> Option<&'t str> {
    let kc = key_column(t)?;
    match filter {
        Filter::All | Filter::Enabled => Some(kc),
        Filter::Eq { column, .. } | Filter::In { column, .. } => (*column == kc).then_some(kc),
    }
}

/// Rows of a learning select carry the key at `n` and the enabled flag ("1"/"0") at `n + 1`:
/// record what they tell, and return the rows the filter asked for, cut to `n` columns.
pub(crate) fn learn_keys(
    cache: &mut KeyCache,
    t: &TableSpec,
    filter: &Filter<'_>,
    mut rows: Vec<Row>,
    n: usize,
) -> Vec<Row> {
    let keys = rows.iter().map(|r| r[n].as_deref());
    match filter {
        Filter::All | Filter::Enabled => cache.saw_scan(t, keys),
        Filter::Eq { value, .. } => cache.saw_lookup(t, &[value.to_string()], keys),
        Filter::In { keys: asked, .. } => cache.saw_lookup(t, asked, keys),
    }
    let all = matches!(filter, Filter::All);
    rows.retain(|r| all || r[n + 1].as_deref() == Some("1"));
    for r in &mut rows {
        r.truncate(n);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table;

    #[test]
    fn learns_and_never_claims_a_matching_key_absent() {
        let t = table("noderes").unwrap();
        let mut c = KeyCache::default();
        let asked = vec![
            "cn1".to_string(),
            "cn2".to_string(),
            "CN3".to_string(),
            "é".to_string(),
        ];
        c.saw_lookup(t, &asked, [Some("cn1")].into_iter());
        assert!(!c.known_absent(t, &[("node", "cn1")]));
        assert!(c.known_absent(t, &[("node", "cn2")]));
        assert!(
            c.known_absent(t, &[("node", "cn3 ")]),
            "folded like a ci/pad collation"
        );
        assert!(!c.known_absent(t, &[("node", "é")]), "non-ASCII: never");
        assert!(!c.known_absent(t, &[("node", "cn9")]), "not asked");
        assert!(!c.known_absent(t, &[("servicenode", "cn2")]), "not the key");
        c.inserted(t, &["node"], &[Some("CN2".into())]);
        assert!(!c.known_absent(t, &[("node", "cn2")]));
        c.deleted(t, &[("node", "cn1")]);
        assert!(c.known_absent(t, &[("node", "cn1")]));
        // A lookup that returned a non-ASCII key teaches nothing.
        let mut d = KeyCache::default();
        d.saw_lookup(t, &["e".to_string()], [Some("É")].into_iter());
        assert!(!d.known_absent(t, &[("node", "e")]));
        // A scan knows every key.
        d.saw_scan(t, [Some("a"), Some("b")].into_iter());
        assert!(d.known_absent(t, &[("node", "c")]) && !d.known_absent(t, &[("node", "A")]));
        d.saw_scan(t, [Some("a"), None].into_iter());
        assert!(!d.known_absent(t, &[("node", "c")]));
        d.deleted_all(t);
        assert!(d.known_absent(t, &[("node", "a")]));
        d.updated(t, &[("node", Some("x".into()))]);
        assert!(!d.known_absent(t, &[("node", "a")]));
        // Tables keyed by several columns, or by recid: never.
        assert!(key_column(table("litefile").unwrap()).is_none());
        assert!(key_column(table("auditlog").unwrap()).is_none());
    }
}
