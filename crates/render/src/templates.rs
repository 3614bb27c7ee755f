//! The templates of the service-node configurations, embedded, with site overrides.
//!
//! A site overrides a template by giving its own source under the same name (baton reads
//! `/etc/baton/templates/<name>.j2`; see [`TEMPLATE_NAMES`]). Templates are minijinja (Jinja2
//! syntax) with `trim_blocks` on, the trailing newline kept, and undefined values an error, so a
//! typo in an override fails loudly instead of writing an empty value.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// Every template, by name, with its built-in source.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dhcpd-host", include_str!("../templates/dhcpd-host.j2")),
    (
        "kea-reservation",
        include_str!("../templates/kea-reservation.j2"),
    ),
    (
        "conserver-header",
        include_str!("../templates/conserver-header.j2"),
    ),
    (
        "conserver-console",
        include_str!("../templates/conserver-console.j2"),
    ),
    (
        "conserver-master",
        include_str!("../templates/conserver-master.j2"),
    ),
    ("boot-xnba", include_str!("../templates/boot-xnba.j2")),
    (
        "boot-pxelinux",
        include_str!("../templates/boot-pxelinux.j2"),
    ),
    ("boot-grub2", include_str!("../templates/boot-grub2.j2")),
];

/// The names a site can override (`<name>.j2`).
pub const TEMPLATE_NAMES: [&str; 8] = [
    "dhcpd-host",
    "kea-reservation",
    "conserver-header",
    "conserver-console",
    "conserver-master",
    "boot-xnba",
    "boot-pxelinux",
    "boot-grub2",
];

/// A set of templates: the built-in ones, some replaced by a site's.
pub struct Templates {
    env: Environment<'static>,
    /// Names whose source is the site's.
    pub overridden: Vec<String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("overridden", &self.overridden)
            .finish()
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

impl Default for Templates {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Templates {
    /// The built-in templates.
    pub fn builtin() -> Self {
        let mut env = environment();
        for (name, src) in BUILTIN {
            env.add_template(name, src)
                .expect("built-in templates parse");
        }
        Templates {
            env,
            overridden: Vec::new(),
        }
    }

    /// The built-in templates with some replaced: `(name, source)`. An unknown name or a source
    /// that does not parse is an error naming it.
    pub fn with_overrides(
        overrides: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, String> {
        let mut env = environment();
        let mut overridden = Vec::new();
        let mut given: Vec<(String, String)> = overrides.into_iter().collect();
        given.sort();
        for (name, _) in &given {
            if !TEMPLATE_NAMES.contains(&name.as_str()) {
                return Err(format!(
                    "unknown template '{name}' (templates: {})",
                    TEMPLATE_NAMES.join(", ")
                ));
            }
        }
        for (name, src) in BUILTIN {
            match given.iter().find(|(n, _)| n == name) {
                Some((_, own)) => {
                    env.add_template_owned(name.to_string(), own.clone())
                        .map_err(|e| format!("template {name}: {e}"))?;
                    overridden.push(name.to_string());
                }
                None => env
                    .add_template(name, src)
                    .map_err(|e| format!("template {name}: {e}"))?,
            }
        }
        Ok(Templates { env, overridden })
    }

    /// Whether template `name` is the built-in one (no site override).
    pub fn is_builtin(&self, name: &str) -> bool {
        !self.overridden.iter().any(|o| o == name)
    }

    /// Render template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: impl Serialize) -> Result<String, String> {
        let t = self
            .env
            .get_template(name)
            .map_err(|e| format!("template {name}: {e}"))?;
        t.render(ctx).map_err(|e| {
            let origin = if self.overridden.iter().any(|o| o == name) {
                " (the site's override)"
            } else {
                ""
            };
            format!("template {name}{origin}: {e}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_has_a_name_and_parses() {
        assert_eq!(BUILTIN.len(), TEMPLATE_NAMES.len());
        for (n, _) in BUILTIN {
            assert!(TEMPLATE_NAMES.contains(n));
        }
        let _ = Templates::builtin();
    }

    #[test]
    fn overrides_replace_and_are_checked() {
        let t = Templates::with_overrides([(
            "conserver-master".to_string(),
            "console {{ node }} { master {{ master }}; }\n".to_string(),
        )])
        .unwrap();
        assert_eq!(
            t.render(
                "conserver-master",
                serde_json::json!({"node": "cn1", "master": "sn2"})
            )
            .unwrap(),
            "console cn1 { master sn2; }\n"
        );
        assert!(Templates::with_overrides([("nope".into(), "x".into())])
            .unwrap_err()
            .contains("unknown template"));
        assert!(
            Templates::with_overrides([("boot-xnba".into(), "{% if %}".into())])
                .unwrap_err()
                .contains("boot-xnba")
        );
        // an undefined value is an error, not an empty string
        let t = Templates::with_overrides([(
            "conserver-master".to_string(),
            "{{ nosuch }}".to_string(),
        )])
        .unwrap();
        let e = t
            .render("conserver-master", serde_json::json!({"node": "cn1"}))
            .unwrap_err();
        assert!(e.contains("override"), "{e}");
    }
}
