//! Man pages from the command-line grammar: clap_mangen's NAME, SYNOPSIS, DESCRIPTION,
//! OPTIONS and COMMANDS, then the help text's own sections (WHAT IT DOES, EXIT STATUS,
//! EXAMPLES, ...) each as a section of its own, kept as written (no refilling), then SEE ALSO.

use std::io::Write;

/// Exit status of every baton command, for pages whose help does not give its own.
const EXIT_STATUS: &str = "\
0 everything asked for was done; 1 the operation failed; 2 usage or validation error
(nothing was changed); 3 a pre-flight check failed or another run holds the nodes (nothing
was changed); 4 a partial run: the database was switched but some steps are not done
(`baton resume ID` finishes them).";

pub fn render(cmd: clap::Command, name: &str) -> std::io::Result<Vec<u8>> {
    let help = cmd
        .get_after_long_help()
        .or(cmd.get_after_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let has_subcommands = cmd.has_subcommands();
    let man = clap_mangen::Man::new(cmd);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if has_subcommands {
        man.render_subcommands_section(&mut out)?;
    }
    let sections = sections(&help);
    for (heading, body) in &sections {
        write_section(&mut out, heading, body)?;
    }
    if !sections.iter().any(|(h, _)| h == "EXIT STATUS") {
        let lines: Vec<String> = EXIT_STATUS.lines().map(str::to_string).collect();
        write_section(&mut out, "EXIT STATUS", &lines)?;
    }
    write_section(&mut out, "SEE ALSO", &[see_also(name)])?;
    Ok(out)
}

/// The help text cut at its headings: a line that starts in column 0 and is in capitals
/// (`EXIT STATUS`, `DATABASE:`), or `Examples:`. Bodies lose their two-space indent.
fn sections(help: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in help.lines() {
        if let Some(h) = heading(line) {
            out.push((h, Vec::new()));
            continue;
        }
        if out.is_empty() {
            out.push(("NOTES".into(), Vec::new()));
        }
        let body = &mut out.last_mut().expect("a section").1;
        body.push(line.strip_prefix("  ").unwrap_or(line).to_string());
    }
    for (_, body) in &mut out {
        while body.last().is_some_and(|l| l.trim().is_empty()) {
            body.pop();
        }
    }
    out
}

fn heading(line: &str) -> Option<String> {
    if line.starts_with(' ') || line.trim().is_empty() {
        return None;
    }
    let text = line.trim_end().trim_end_matches(':');
    match text {
        "Examples" | "Example" => return Some("EXAMPLES".into()),
        "Usage" => return Some("USAGE".into()),
        _ => {}
    }
    let capitals = text.chars().any(|c| c.is_ascii_uppercase())
        && !text.chars().any(|c| c.is_ascii_lowercase());
    capitals.then(|| text.to_string())
}

fn write_section(out: &mut Vec<u8>, heading: &str, body: &[String]) -> std::io::Result<()> {
    writeln!(out, ".SH \"{}\"", heading.replace('"', ""))?;
    writeln!(out, ".nf")?;
    for line in body {
        writeln!(out, "{}", roff_line(line))?;
    }
    writeln!(out, ".fi")
}

/// One line of text that roff prints as written.
fn roff_line(line: &str) -> String {
    let escaped = line.replace('\\', "\\e");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

fn see_also(name: &str) -> String {
    let pages = match name {
        "baton" => {
            "snmove(1), baton-snmove(1), baton-watch(1), baton-journal(1), baton-quickstart(1)"
        }
        "snmove" | "baton-snmove" => {
            "baton(1), baton-journal(1), baton-resume(1), baton-rollback(1), baton-watch(1)"
        }
        "baton-watch" | "baton-status" => {
            "baton(1), baton-snmove(1), baton-status(1), baton-journal(1)"
        }
        "baton-resume" | "baton-rollback" | "baton-journal" => {
            "baton(1), baton-snmove(1), baton-journal(1), baton-resume(1), baton-rollback(1)"
        }
        _ => "baton(1), baton-snmove(1)",
    };
    format!("{pages}; README.md and COMPAT.md in /usr/share/doc/baton")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_headings_become_sections_and_bodies_lose_their_indent() {
        let s = sections(
            "WHAT IT DOES\n  Moves nodes.\n\nEXIT STATUS:\n  0 done\nExamples:\n  .hidden\n",
        );
        let names: Vec<&str> = s.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(names, ["WHAT IT DOES", "EXIT STATUS", "EXAMPLES"]);
        assert_eq!(s[0].1, ["Moves nodes."]);
        assert_eq!(roff_line(&s[2].1[0]), "\\&.hidden");
    }
}
