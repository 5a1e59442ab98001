//! Surgical edits of `lumina.yaml` that keep the user's comments, blank
//! lines and key order: the file is changed line by line at positions taken
//! from the parsed tree, never re-serialised. Every edit is re-parsed before
//! it is returned, so a bad edit never reaches the disk.

use std::path::Path;

use crate::error::{Error, Result};
use crate::yaml::{self, Node};

fn syntax(path: &Path, text: &str) -> Result<Node> {
    yaml::parse(text).map_err(|e| {
        Error::Invalid(vec![crate::error::Diagnostic::new(
            path,
            Some(e.pos),
            "",
            format!("YAML syntax error: {}", e.message),
        )
        .help("fix the file by hand first; lumina only edits files it can parse")])
    })
}

fn lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Quotes a scalar for YAML when needed.
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./~$".contains(c))
        && !matches!(s, "true" | "false" | "null" | "yes" | "no" | "~")
        && s.parse::<f64>().is_err();
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Index (0-based) of the line just after the block that starts at
/// `key_line` (0-based) with indentation `indent`: the first later line with
/// content at indentation <= `indent`, backing off over the comments and
/// blank lines that lead into it.
fn block_end(ls: &[String], key_line: usize, indent: usize) -> usize {
    let mut end = ls.len();
    for (i, l) in ls.iter().enumerate().skip(key_line + 1) {
        if !is_blank_or_comment(l) && indent_of(l) <= indent {
            end = i;
            break;
        }
    }
    while end > key_line + 1 && is_blank_or_comment(&ls[end - 1]) {
        // A comment indented deeper than the block's key belongs to the block.
        let l = &ls[end - 1];
        if !l.trim().is_empty() && indent_of(l) > indent {
            break;
        }
        end -= 1;
    }
    end
}

/// Appends a module block at the end of `modules:` (creating the section if
/// needed). `fields` are `key: value` pairs written in order.
pub fn add_module(
    path: &Path,
    text: &str,
    name: &str,
    fields: &[(&str, String)],
) -> Result<String> {
    let root = syntax(path, text)?;
    let mut ls = lines(text);
    if ls.last().is_some_and(|l| !l.ends_with('\n')) {
        if let Some(l) = ls.last_mut() {
            l.push('\n');
        }
    }
    let render = |indent: usize| {
        let pad = " ".repeat(indent);
        let mut s = format!("{pad}{name}:\n");
        for (k, v) in fields {
            s.push_str(&format!("{pad}  {k}: {v}\n"));
        }
        s
    };
    match root.entry("modules") {
        None => {
            if ls.last().is_some_and(|l| !l.trim().is_empty()) {
                ls.push("\n".into());
            }
            ls.push("modules:\n".into());
            ls.push(render(2));
        }
        Some((key, value)) => {
            let key_line = key.start.line - 1;
            let key_indent = key.start.col - 1;
            match value.as_map() {
                Some(entries) if !entries.is_empty() => {
                    let first = &entries[0].0;
                    if first.start.line == key.start.line
                        || ls[first.start.line - 1].trim_start().starts_with('{')
                    {
                        return Err(flow_style(path, "modules"));
                    }
                    let child_indent = first.start.col - 1;
                    let end = block_end(&ls, key_line, key_indent);
                    ls.insert(end, render(child_indent));
                }
                _ if value.is_null() || value.as_map().is_some() => {
                    // `modules:` with nothing, or `modules: {}`.
                    let line = &ls[key_line];
                    let head = &line[..line.find(':').map(|i| i + 1).unwrap_or(line.len())];
                    let head = head.to_string();
                    ls[key_line] = format!("{head}\n");
                    ls.insert(key_line + 1, render(key_indent + 2));
                }
                _ => {
                    return Err(Error::Usage(format!(
                        "{}: 'modules' is {}, not a mapping; fix it by hand first",
                        path.display(),
                        value.type_name()
                    )))
                }
            }
        }
    }
    let out = ls.concat();
    syntax(path, &out)?;
    Ok(out)
}

fn flow_style(path: &Path, what: &str) -> Error {
    Error::Usage(format!(
        "{}: '{what}' is written in flow style ({{...}}); lumina edits block style only. Rewrite it as an indented block, then try again.",
        path.display()
    ))
}

fn module_node<'a>(
    path: &Path,
    root: &'a Node,
    name: &str,
) -> Result<(&'a Node, &'a Node, &'a Node)> {
    let (mk, mods) = root
        .entry("modules")
        .ok_or_else(|| Error::Usage(format!("{} has no modules section", path.display())))?;
    let (k, v) = mods
        .entry(name)
        .ok_or_else(|| Error::Usage(format!("no module '{name}' in {}", path.display())))?;
    if k.start.line == mk.start.line {
        return Err(flow_style(path, "modules"));
    }
    Ok((mods, k, v))
}

/// Deletes a module's block, with the comment lines directly above it.
pub fn remove_module(path: &Path, text: &str, name: &str) -> Result<String> {
    let root = syntax(path, text)?;
    let (_, k, _) = module_node(path, &root, name)?;
    let mut ls = lines(text);
    let key_line = k.start.line - 1;
    let indent = k.start.col - 1;
    let end = block_end(&ls, key_line, indent);
    let mut start = key_line;
    while start > 0 {
        let l = &ls[start - 1];
        if l.trim_start().starts_with('#') && indent_of(l) == indent {
            start -= 1;
        } else {
            break;
        }
    }
    ls.drain(start..end);
    // Avoid leaving two blank lines where the block was.
    if start > 0
        && start < ls.len()
        && ls[start - 1].trim().is_empty()
        && ls[start].trim().is_empty()
    {
        ls.remove(start);
    }
    let out = ls.concat();
    syntax(path, &out)?;
    Ok(out)
}

/// Sets `enabled:` of a module, replacing the value in place or inserting
/// the key as the module's first field.
pub fn set_enabled(path: &Path, text: &str, name: &str, enabled: bool) -> Result<String> {
    let root = syntax(path, text)?;
    let (_, k, v) = module_node(path, &root, name)?;
    let mut ls = lines(text);
    let value = if enabled { "true" } else { "false" };
    if let Some((_, n)) = v.entry("enabled") {
        let li = n.start.line - 1;
        let line: Vec<char> = ls[li].chars().collect();
        let (a, b) = (
            n.start.col - 1,
            if n.end.line == n.start.line {
                n.end.col - 1
            } else {
                line.len()
            },
        );
        let mut new: String = line[..a].iter().collect();
        new.push_str(value);
        new.extend(line[b.min(line.len())..].iter());
        ls[li] = new;
    } else {
        let entries = v
            .as_map()
            .filter(|m| !m.is_empty())
            .ok_or_else(|| flow_style(path, name))?;
        let first = &entries[0].0;
        if first.start.line == k.start.line {
            return Err(flow_style(path, name));
        }
        let pad = " ".repeat(first.start.col - 1);
        ls.insert(k.start.line, format!("{pad}enabled: {value}\n"));
    }
    let out = ls.concat();
    syntax(path, &out)?;
    Ok(out)
}

/// The line index just after a block sequence whose key is on `key_line`:
/// items may sit deeper than the key or, in YAML's compact form, at the
/// key's own indentation behind a dash.
fn seq_block_end(ls: &[String], key_line: usize, key_indent: usize) -> usize {
    let mut end = key_line + 1;
    let mut i = key_line + 1;
    while i < ls.len() {
        let l = &ls[i];
        if is_blank_or_comment(l) {
            i += 1;
            continue;
        }
        let ind = indent_of(l);
        let t = l.trim_start();
        if ind > key_indent || (ind == key_indent && (t.starts_with("- ") || t.trim_end() == "-")) {
            i += 1;
            end = i;
        } else {
            break;
        }
    }
    end
}

/// The text of a one-line flow node, as written.
fn slice(ls: &[String], n: &Node) -> String {
    let line: Vec<char> = ls[n.start.line - 1].chars().collect();
    let a = n.start.col - 1;
    let b = if n.end.line == n.start.line {
        (n.end.col - 1).min(line.len())
    } else {
        line.len()
    };
    line[a..b].iter().collect::<String>().trim_end().to_string()
}

/// Index just past the bracket that closes the flow collection opening at
/// `a` (quotes respected).
fn flow_close(line: &[char], a: usize) -> usize {
    let (mut depth, mut quote) = (0usize, None::<char>);
    for (i, &c) in line.iter().enumerate().skip(a) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    line.len()
}

/// Replaces a one-line flow sequence `[a, b]` with `items`.
fn rewrite_flow_seq(ls: &mut [String], seq: &Node, items: &[String]) {
    let li = seq.start.line - 1;
    let line: Vec<char> = ls[li].chars().collect();
    let a = seq.start.col - 1;
    let b = flow_close(&line, a);
    let mut new: String = line[..a].iter().collect();
    new.push_str(&format!("[{}]", items.join(", ")));
    new.extend(line[b..].iter());
    ls[li] = new;
}

/// The name a `packages:` item declares: `pkg` or `{name: pkg, ...}`.
pub fn package_item_name(n: &Node) -> Option<&str> {
    match n.as_map() {
        Some(_) => n.get("name").and_then(Node::as_str),
        None => n.as_str(),
    }
}

/// Appends `entry` (already rendered: `name` or `{name: x, manager: y}`) to
/// `packages:`, creating the list when there is none.
pub fn add_package(path: &Path, text: &str, entry: &str) -> Result<String> {
    let root = syntax(path, text)?;
    let mut ls = lines(text);
    if ls.last().is_some_and(|l| !l.ends_with('\n')) {
        if let Some(l) = ls.last_mut() {
            l.push('\n');
        }
    }
    match root.entry("packages") {
        None => {
            if ls.last().is_some_and(|l| !l.trim().is_empty()) {
                ls.push("\n".into());
            }
            ls.push("packages:\n".into());
            ls.push(format!("  - {entry}\n"));
        }
        Some((key, value)) => {
            let key_line = key.start.line - 1;
            let key_indent = key.start.col - 1;
            match value.as_seq() {
                Some(items) if value.start.line == key.start.line => {
                    if value.end.line != value.start.line {
                        return Err(flow_style(path, "packages"));
                    }
                    let mut v: Vec<String> = items.iter().map(|n| slice(&ls, n)).collect();
                    v.push(entry.to_string());
                    rewrite_flow_seq(&mut ls, value, &v);
                }
                Some(items) if !items.is_empty() => {
                    let first_line = &ls[items[0].start.line - 1];
                    let pad = " ".repeat(indent_of(first_line));
                    let end = seq_block_end(&ls, key_line, key_indent);
                    ls.insert(end, format!("{pad}- {entry}\n"));
                }
                _ if value.is_null() || value.as_seq().is_some() => {
                    let line = &ls[key_line];
                    let head =
                        line[..line.find(':').map(|i| i + 1).unwrap_or(line.len())].to_string();
                    ls[key_line] = format!("{head}\n");
                    ls.insert(
                        key_line + 1,
                        format!("{}  - {entry}\n", " ".repeat(key_indent)),
                    );
                }
                _ => {
                    return Err(Error::Usage(format!(
                        "{}: 'packages' is {}, not a list; fix it by hand first",
                        path.display(),
                        value.type_name()
                    )))
                }
            }
        }
    }
    let out = ls.concat();
    syntax(path, &out)?;
    Ok(out)
}

/// Removes every `packages:` item naming `name`. Returns the new text and
/// whether anything was removed. Comments around the items stay.
pub fn remove_package(path: &Path, text: &str, name: &str) -> Result<(String, bool)> {
    let root = syntax(path, text)?;
    let Some((key, value)) = root.entry("packages") else {
        return Ok((text.to_string(), false));
    };
    let Some(items) = value.as_seq() else {
        return Ok((text.to_string(), false));
    };
    let mut ls = lines(text);
    let hits: Vec<&Node> = items
        .iter()
        .filter(|n| package_item_name(n) == Some(name))
        .collect();
    if hits.is_empty() {
        return Ok((text.to_string(), false));
    }
    if value.start.line == key.start.line {
        if value.end.line != value.start.line {
            return Err(flow_style(path, "packages"));
        }
        let keep: Vec<String> = items
            .iter()
            .filter(|n| package_item_name(n) != Some(name))
            .map(|n| slice(&ls, n))
            .collect();
        rewrite_flow_seq(&mut ls, value, &keep);
    } else {
        // Bottom-up, so earlier line numbers stay valid.
        for n in hits.iter().rev() {
            let start = n.start.line - 1;
            let dash_indent = indent_of(&ls[start]);
            let mut end = start + 1;
            while end < ls.len()
                && !is_blank_or_comment(&ls[end])
                && indent_of(&ls[end]) > dash_indent
                && !ls[end].trim_start().starts_with("- ")
            {
                end += 1;
            }
            ls.drain(start..end);
        }
    }
    let out = ls.concat();
    syntax(path, &out)?;
    Ok((out, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "# my profile\nversion: 1.0 # keep\nmodules:\n  # the shell\n  shell:\n    source: ./config/hyprland # here\n    target: ~/.config/hypr\n\n  # editor\n  nvim:\n    source: ./config/nvim\n    target: ~/.config/nvim\n# trailing\n";

    #[test]
    fn add_keeps_comments_and_order() {
        let out = add_module(
            Path::new("l.yaml"),
            SRC,
            "kitty",
            &[
                ("source", "./config/kitty".into()),
                ("target", "~/.config/kitty".into()),
            ],
        )
        .unwrap();
        assert!(out.starts_with("# my profile\nversion: 1.0 # keep\n"));
        assert!(out.contains("    target: ~/.config/nvim\n  kitty:\n    source: ./config/kitty\n"));
        assert!(out.ends_with("# trailing\n"));
    }

    #[test]
    fn remove_takes_its_comment() {
        let out = remove_module(Path::new("l.yaml"), SRC, "shell").unwrap();
        assert!(!out.contains("the shell"));
        assert!(!out.contains("hyprland"));
        assert!(out.contains("# editor\n  nvim:"));
        let out = remove_module(Path::new("l.yaml"), SRC, "nvim").unwrap();
        assert!(out.contains("# here"));
        assert!(!out.contains("nvim"));
        assert!(out.ends_with("# trailing\n"));
    }

    #[test]
    fn set_enabled_in_place_or_inserted() {
        let out = set_enabled(Path::new("l.yaml"), SRC, "nvim", false).unwrap();
        assert!(out.contains("  nvim:\n    enabled: false\n    source: ./config/nvim"));
        let again = set_enabled(Path::new("l.yaml"), &out, "nvim", true).unwrap();
        assert!(again.contains("    enabled: true\n"));
    }

    #[test]
    fn add_to_empty_or_missing_modules() {
        let out = add_module(
            Path::new("l.yaml"),
            "version: 1.0\n",
            "a",
            &[("source", "./a".into())],
        )
        .unwrap();
        assert_eq!(out, "version: 1.0\n\nmodules:\n  a:\n    source: ./a\n");
        let out = add_module(
            Path::new("l.yaml"),
            "version: 1.0\nmodules: {}\n",
            "a",
            &[("source", "./a".into())],
        )
        .unwrap();
        assert_eq!(out, "version: 1.0\nmodules:\n  a:\n    source: ./a\n");
    }

    #[test]
    fn packages_block_flow_and_missing() {
        let p = Path::new("l.yaml");
        let src = "version: 1.0\npackages:\n  # tools\n  - ripgrep # fast grep\n  - {name: yay-bin, manager: paru}\n\nmodules: {}\n";
        let out = add_package(p, src, "fd").unwrap();
        assert_eq!(out, "version: 1.0\npackages:\n  # tools\n  - ripgrep # fast grep\n  - {name: yay-bin, manager: paru}\n  - fd\n\nmodules: {}\n");
        let (out, hit) = remove_package(p, &out, "ripgrep").unwrap();
        assert!(hit);
        assert_eq!(out, "version: 1.0\npackages:\n  # tools\n  - {name: yay-bin, manager: paru}\n  - fd\n\nmodules: {}\n");
        let (out, _) = remove_package(p, &out, "yay-bin").unwrap();
        assert!(!out.contains("yay"));
        // Compact form: dashes at the key's indentation.
        let out = add_package(p, "packages:\n- a\n- b\nflows: {}\n", "c").unwrap();
        assert_eq!(out, "packages:\n- a\n- b\n- c\nflows: {}\n");
        // Flow form on one line.
        let out = add_package(p, "packages: [a, b] # mine\n", "c").unwrap();
        assert_eq!(out, "packages: [a, b, c] # mine\n");
        let (out, _) = remove_package(p, &out, "a").unwrap();
        assert_eq!(out, "packages: [b, c] # mine\n");
        let out = add_package(p, "packages: []\n", "c").unwrap();
        assert_eq!(out, "packages: [c]\n");
        // Missing or empty.
        assert_eq!(
            add_package(p, "version: 1\n", "a").unwrap(),
            "version: 1\n\npackages:\n  - a\n"
        );
        assert_eq!(
            add_package(p, "packages:\nversion: 1\n", "a").unwrap(),
            "packages:\n  - a\nversion: 1\n"
        );
        // A block map item goes whole.
        let (out, _) =
            remove_package(p, "packages:\n  - name: x\n    manager: paru\n  - y\n", "x").unwrap();
        assert_eq!(out, "packages:\n  - y\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("~/.config/a"), "~/.config/a");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("true"), "\"true\"");
    }
}
