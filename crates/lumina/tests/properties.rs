//! Invariants checked over generated inputs.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

fn component() -> impl Strategy<Value = String> {
    "[a-z.]{1,6}".prop_filter("not . or ..", |s| s != "." && s != "..")
}

fn abs_path() -> impl Strategy<Value = PathBuf> {
    proptest::collection::vec(component(), 0..6).prop_map(|c| {
        let mut p = PathBuf::from("/");
        for x in c {
            p.push(x);
        }
        p
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Following the relative path from `from` always lands on `to`.
    #[test]
    fn relative_leads_to_target(from in abs_path(), to in abs_path()) {
        let rel = lumina::paths::relative(&from, &to);
        prop_assert!(rel.is_relative());
        prop_assert_eq!(lumina::paths::normalize(&from.join(&rel)), to);
    }

    /// The registry parser returns a value or an error for any text; it never panics.
    #[test]
    fn registry_parse_never_panics(text in "\\PC{0,300}") {
        let _ = lumina::registry::parse(Path::new("fuzz.yaml"), &text, false);
    }

    /// Same for inputs shaped like registries, where validation gets deeper.
    #[test]
    fn registry_shaped_input_never_panics(
        name in "[a-z]{1,5}",
        key in "(source|target|mode|enabled|hosts|on_conflict|x)",
        value in "(\\[\\]|\\{\\}|true|1\\.5|~|\"a\"|link|copy|- x|\\[a, b\\])",
    ) {
        let text = format!("version: 1.0\nmodules:\n  {name}:\n    {key}: {value}\n    source: ./s\n");
        let _ = lumina::registry::parse(Path::new("fuzz.yaml"), &text, true);
    }

    /// Adding a module and removing it again gives back the original text,
    /// comments included.
    #[test]
    fn add_then_remove_round_trips(name in "[a-z]{3,8}", comment in "[a-z ]{0,20}") {
        let original = format!("# {comment}\nversion: 1.0\nmodules:\n  # keep me\n  shell:\n    source: ./a # {comment}\n    target: ~/.a\n");
        prop_assume!(name != "shell");
        let added = lumina::edit::add_module(Path::new("l.yaml"), &original, &name, &[("source", "./x".into()), ("target", "~/.x".into())]).unwrap();
        let removed = lumina::edit::remove_module(Path::new("l.yaml"), &added, &name).unwrap();
        prop_assert_eq!(removed, original);
    }
}
