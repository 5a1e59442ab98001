//! A YAML document as a tree whose every node knows where it stands in the
//! source. Validation uses the positions to name line and column in errors;
//! the registry editor uses them to change a file without disturbing the
//! user's comments, blank lines or key order.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A position in the source: 1-based line, 1-based column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Debug, Clone)]
pub enum Kind {
    /// A scalar with its text and whether it was quoted (quoted scalars are
    /// always strings; plain ones may be numbers, booleans or null).
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    pub start: Pos,
    /// Where the node ends (exclusive). For block collections this is where
    /// the parser saw the collection close.
    pub end: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

impl Node {
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar { text, quoted } => {
                if *quoted {
                    "a string"
                } else if is_null(text) {
                    "null"
                } else if parse_bool(text).is_some() {
                    "a boolean"
                } else if text.parse::<f64>().is_ok() {
                    "a number"
                } else {
                    "a string"
                }
            }
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, quoted: false } if is_null(text))
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Scalar {
                text,
                quoted: false,
            } => parse_bool(text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Looks a key up in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Looks a key up in a mapping and returns both key and value nodes.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn pos(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

enum Frame {
    Seq(Vec<Node>, Pos, usize),
    Map(Vec<(Node, Node)>, Option<Node>, Pos, usize),
}

/// Parses the first document of `src`. An empty document is an empty mapping.
pub fn parse(src: &str) -> Result<Node, SyntaxError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    for item in Parser::new_from_str(src) {
        let (event, span) = item.map_err(|e| SyntaxError {
            pos: pos(e.marker()),
            message: e.info().to_string(),
        })?;
        let (start, end) = (pos(&span.start), pos(&span.end));
        let finished: Option<(Node, usize)> = match event {
            Event::Scalar(text, style, anchor, _tag) => Some((
                Node {
                    kind: Kind::Scalar {
                        text: text.into_owned(),
                        quoted: style != ScalarStyle::Plain,
                    },
                    start,
                    end,
                },
                anchor,
            )),
            Event::Alias(id) => {
                let node = anchors.get(&id).cloned().ok_or(SyntaxError {
                    pos: start,
                    message: "alias refers to an unknown anchor".into(),
                })?;
                Some((node, 0))
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(Vec::with_capacity(4), start, anchor));
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(Vec::with_capacity(8), None, start, anchor));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, s, anchor)) => Some((
                    Node {
                        kind: Kind::Seq(items),
                        start: s,
                        end,
                    },
                    anchor,
                )),
                _ => unreachable_frame(start)?,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(items, _, s, anchor)) => Some((
                    Node {
                        kind: Kind::Map(items),
                        start: s,
                        end,
                    },
                    anchor,
                )),
                _ => unreachable_frame(start)?,
            },
            Event::DocumentEnd => {
                if root.is_some() {
                    break;
                }
                None
            }
            _ => None,
        };
        if let Some((node, anchor)) = finished {
            if anchor != 0 {
                anchors.insert(anchor, node.clone());
            }
            match stack.last_mut() {
                None => root = Some(node),
                Some(Frame::Seq(items, ..)) => items.push(node),
                Some(Frame::Map(items, pending, ..)) => match pending.take() {
                    None => *pending = Some(node),
                    Some(key) => items.push((key, node)),
                },
            }
        }
    }
    Ok(root.unwrap_or(Node {
        kind: Kind::Map(Vec::new()),
        start: Pos { line: 1, col: 1 },
        end: Pos { line: 1, col: 1 },
    }))
}

fn unreachable_frame(at: Pos) -> Result<Option<(Node, usize)>, SyntaxError> {
    Err(SyntaxError {
        pos: at,
        message: "unbalanced collection in YAML event stream".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let n = parse("a: 1\nb:\n  c: [x, 'y']\n").unwrap();
        let (k, v) = n.entry("b").unwrap();
        assert_eq!(k.start, Pos { line: 2, col: 1 });
        let c = v.get("c").unwrap();
        assert_eq!(c.start.line, 3);
        let items = c.as_seq().unwrap();
        assert_eq!(items[1].as_str(), Some("y"));
        assert_eq!(items[1].type_name(), "a string");
        assert_eq!(n.get("a").unwrap().type_name(), "a number");
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.pos.line >= 1);
    }

    #[test]
    fn aliases_resolve() {
        let n = parse("x: &a {k: v}\ny: *a\n").unwrap();
        assert_eq!(n.get("y").unwrap().get("k").unwrap().as_str(), Some("v"));
    }

    #[test]
    fn empty_is_empty_map() {
        assert!(parse("").unwrap().as_map().unwrap().is_empty());
        assert!(parse("# only a comment\n").unwrap().as_map().is_some());
    }
}
