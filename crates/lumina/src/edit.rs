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
    fn quoting() {
        assert_eq!(quote("~/.config/a"), "~/.config/a");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("true"), "\"true\"");
    }
}
