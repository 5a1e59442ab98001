//! skills.toml validation (docs/eden-skills/config.md) and the config commands
//! (README.md#editing-the-config),
//! through the real binary.

mod common;
use common::*;

fn invalid(sb: &Sandbox, body: &str, expected: &str) {
    sb.write_config(body);
    let o = sb.run(&["apply"]);
    assert_eq!(code(&o), 2, "{body}\nstderr: {}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("error: invalid config: {expected}")),
        "expected `{expected}` in:\n{err}"
    );
    // Nothing was changed before the exit.
    assert!(!sb.config.with_file_name("skills.lock").exists());
    assert!(!sb.home.join(".claude").exists());
}

#[test]
fn every_validation_code_names_its_field() {
    let sb = Sandbox::new();
    let t = "[[skills.targets]]\nagent = \"claude-code\"\n";
    let cases: Vec<(String, &str)> = vec![
        (format!("[[skills]]\nname = \"a\"\nid = \"a\"\n{t}"), "INVALID_SKILL_MODE: skills[0]:"),
        (format!("[[skills]]\nid = \"a\"\nsource = {{ repo = \"https://h/a.git\" }}\nversion = \"1\"\n{t}"), "INVALID_SKILL_MODE: skills[0]:"),
        (format!("[[skills]]\nname = \"a\"\n{t}"), "MISSING_REGISTRIES: skills[0]:"),
        (format!("[registries]\nofficial = {{ url = \"https://h/r.git\" }}\n[[skills]]\nname = \"a\"\nregistry = \"forge\"\n{t}"), "UNKNOWN_REGISTRY: skills[0].registry:"),
        (format!("[registries]\nofficial = {{ url = \"https://h/r.git\" }}\n[[skills]]\nname = \"a\"\nversion = \"one\"\n{t}"), "INVALID_SEMVER: skills[0].version:"),
        ("[[skills]]\nid = \"a\"\nsource = { repo = \"https://h/a.git\" }\n[[skills.targets]]\nagent = \"claude-code\"\nenvironment = \"k8s:x\"\n".to_string(), "INVALID_ENVIRONMENT: skills[0].targets[0].environment:"),
        ("[[skills]]\nid = \"a\"\nsource = { repo = \"https://h/a.git\" }\ntarget = \"ssh:box\"\n".to_string(), "INVALID_ENVIRONMENT: skills[0].target:"),
        ("[reactor]\nconcurrency = 0\n".to_string(), "INVALID_CONCURRENCY: reactor.concurrency:"),
        ("[reactor]\nconcurrency = 101\n".to_string(), "INVALID_CONCURRENCY: reactor.concurrency:"),
        (format!("[[skills]]\nid = \"a\"\nsource = {{ repo = \"https://h/a.git\" }}\n{t}[[skills]]\nid = \"a\"\nsource = {{ repo = \"https://h/b.git\" }}\n{t}"), "DUPLICATE_SKILL_ID: skills[1].id:"),
        (format!("[[skills]]\nid = \"../evil\"\nsource = {{ repo = \"https://h/a.git\" }}\n{t}"), "INVALID_SKILL_ID: skills[0].id:"),
        (format!("[[skills]]\nid = \"a\"\nsource = {{ repo = \"https://h/a.git\", subpath = \"../../etc\" }}\n{t}"), "INVALID_SUBPATH: skills[0].source.subpath:"),
        (format!("[[skills]]\nid = \"a\"\nsource = {{ repo = \"https://h/a.git\", subpath = \"/etc\" }}\n{t}"), "INVALID_SUBPATH: skills[0].source.subpath:"),
        (format!("[[skills]]\nid = \"a\"\nsource = {{ repo = \"github.com/a/b\" }}\n{t}"), "INVALID_REPO_URL: skills[0].source.repo:"),
        (format!("[[skills]]\nid = \"a\"\nsource = {{ repo = \"ext::sh -c touch% /tmp/pwned\" }}\n{t}"), "UNSAFE_REPO_URL: skills[0].source.repo:"),
        (format!("[[skills]]\nid = \"a\"\nsource = {{ repo = \"--upload-pack=touch /tmp/x\" }}\n{t}"), "UNSAFE_REPO_URL: skills[0].source.repo:"),
        ("[registries]\nforge = { url = \"fd::3\" }\n".to_string(), "UNSAFE_REPO_URL: registries.forge.url:"),
        (format!("[[skills]]\nid = \"a\"\nsource = {{ repo = \"https://h/a.git\" }}\ntarget = \"local\"\n{t}"), "CONFLICTING_TARGETS: skills[0].target:"),
    ];
    for (body, expected) in cases {
        invalid(&sb, &body, expected);
    }
}

#[test]
fn uncoded_messages_keep_phase_one_paths() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.config.parent().unwrap()).unwrap();
    std::fs::write(&sb.config, "version = 2\n").unwrap();
    let o = sb.run(&["plan"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("error: invalid config: version: expected 1, got 2"));
    let cases = [
        ("[[skills]]\nsource = { repo = \"https://h/a.git\" }\ntarget = \"local\"\n", "skills[0].id: missing required field"),
        ("[[skills]]\nid = \"a\"\nsource = { repo = \"https://h/a.git\" }\n", "skills[0].targets: must contain at least one target"),
        ("[[skills]]\nid = \"a\"\nsource = { repo = \"https://h/a.git\" }\n[[skills.targets]]\nagent = \"custom\"\n", "skills[0].targets[0].path: required when agent=custom"),
        ("[[skills]]\nid = \"a\"\nsource = { repo = \"https://h/a.git\" }\nverify = { enabled = true, checks = [] }\ntarget = \"local\"\n", "skills[0].verify.checks: must not be empty when verify.enabled=true"),
        ("[[skills]\nid = \"a\"\n", "root: invalid toml:"),
    ];
    for (body, expected) in cases {
        invalid(&sb, body, expected);
    }
}

#[test]
fn inline_and_table_sources_and_target_shorthand_install_the_same() {
    let sb = Sandbox::new();
    let a = sb.skill_repo("alpha");
    let b = sb.skill_repo("beta");
    sb.write_config(&format!(
        "[[skills]]\nid = \"alpha\"\nsource = {{ repo = \"{a}\", ref = \"main\" }}\n[[skills.targets]]\nagent = \"claude-code\"\n\n[[skills]]\nid = \"beta\"\ntarget = \"local\"\n[skills.source]\nrepo = \"{b}\"\nref = \"main\"\n"
    ));
    let (rc, v, err) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["summary"]["created"], 2);
    assert!(sb.claude("alpha").join("SKILL.md").is_file());
    assert!(sb.claude("beta").join("SKILL.md").is_file());
    let o = sb.run(&["list", "--json"]);
    let l: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(l["count"], 2);
    assert_eq!(l["skills"][1]["targets"][0]["agent"], "claude-code");
    assert_eq!(l["skills"][1]["targets"][0]["environment"], "local");
    assert_eq!(l["skills"][1]["source"]["repo"], b.as_str());
}

#[test]
fn unknown_top_level_key_warns_and_strict_refuses() {
    let sb = Sandbox::new();
    sb.write_config("colour = \"blue\"\n");
    let o = sb.run(&["plan"]);
    assert_eq!(code(&o), 0);
    assert!(
        stderr(&o).contains("warning: unknown top-level key `colour`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o).trim(), "0 actions (up to date)");
    let o = sb.run(&["plan", "--strict"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn concurrency_from_flag_env_and_config_is_validated() {
    let sb = Sandbox::new();
    sb.write_config("");
    let o = sb.run(&["apply", "--concurrency", "0"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("error: INVALID_CONCURRENCY: --concurrency:"),
        "{}",
        stderr(&o)
    );
    let o = sb
        .cmd()
        .env("EDEN_SKILLS_CONCURRENCY", "many")
        .arg("apply")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("error: INVALID_CONCURRENCY: EDEN_SKILLS_CONCURRENCY:"));
    // Empty means unset.
    let o = sb
        .cmd()
        .env("EDEN_SKILLS_CONCURRENCY", "")
        .arg("apply")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn init_add_set_list_export_import() {
    let sb = Sandbox::new();
    let o = sb.run(&["init"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(sb.config.with_file_name("skills.lock").is_file());
    let o = sb.run(&["init"]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains(&format!(
        "config already exists: {} (use --force to overwrite)",
        sb.config.display()
    )));
    assert_eq!(code(&sb.run(&["init", "--force"])), 0);

    // A comment the user wrote survives every edit.
    let text = std::fs::read_to_string(&sb.config).unwrap();
    std::fs::write(&sb.config, format!("# my agents' skills\n{text}")).unwrap();
    let (rc, v, _) = sb.json(&[
        "add",
        "--id",
        "pdf",
        "--repo",
        "https://example.org/pdf.git",
        "-t",
        "claude-code",
        "-t",
        "custom:/opt/tools",
        "--json",
    ]);
    assert_eq!(rc, 0);
    assert_eq!(v["action"], "add");
    assert_eq!(v["skill_id"], "pdf");
    let before = std::fs::read_to_string(&sb.config).unwrap();
    let o = sb.run(&[
        "add",
        "--id",
        "pdf",
        "--repo",
        "https://example.org/x.git",
        "-t",
        "cursor",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("skill id already exists: `pdf`"));
    assert_eq!(std::fs::read_to_string(&sb.config).unwrap(), before);

    let o = sb.run(&["set", "pdf"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("set requires at least one mutation flag"));
    let o = sb.run(&["set", "nope", "--ref", "v2"]);
    assert_eq!(code(&o), 2);
    let o = sb.run(&["set", "pdf", "--version", "1.0"]);
    assert_eq!(code(&o), 2, "a registry field on a repository entry");
    let (rc, v, _) = sb.json(&[
        "set", "pdf", "--ref", "v2", "--mode", "copy", "-t", "cursor", "--json",
    ]);
    assert_eq!(rc, 0);
    assert_eq!(v["action"], "set");
    let text = std::fs::read_to_string(&sb.config).unwrap();
    assert!(text.starts_with("# my agents' skills\n"), "{text}");
    let (_, l, _) = sb.json(&["list", "--json"]);
    let s = &l["skills"][0];
    assert_eq!(s["source"]["ref"], "v2");
    assert_eq!(s["install"]["mode"], "copy");
    assert_eq!(s["targets"].as_array().unwrap().len(), 1);
    assert_eq!(s["targets"][0]["agent"], "cursor");
    assert_eq!(
        s["targets"][0]["path"],
        sb.home.join(".cursor/skills").display().to_string()
    );
    let o = sb.run(&["set", "pdf", "--subpath", "../x"]);
    assert_eq!(
        code(&o),
        2,
        "an edit that makes the config invalid is refused"
    );
    assert!(stderr(&o).contains("INVALID_SUBPATH"));

    // Export is normalized and stable; import writes it back.
    let e1 = stdout(&sb.run(&["config", "export"]));
    let e2 = stdout(&sb.run(&["config", "export"]));
    assert_eq!(e1, e2);
    assert!(
        e1.contains("checks = [\"path-exists\", \"content-present\"]"),
        "{e1}"
    );
    let (_, j, _) = sb.json(&["config", "export", "--json"]);
    assert_eq!(j["format"], "toml");
    assert_eq!(j["toml"].as_str().unwrap(), e1);
    let src = sb.root().join("other.toml");
    std::fs::write(&src, "version = 1\n[[skills]]\nid = \"z\"\nsource = { repo = \"https://h/z.git\" }\ntarget = \"local\"\n").unwrap();
    let o = sb.run(&[
        "config",
        "import",
        "--from",
        src.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("id = \"z\""));
    assert!(!std::fs::read_to_string(&sb.config)
        .unwrap()
        .contains("\"z\""));
    assert_eq!(
        code(&sb.run(&["config", "import", "--from", src.to_str().unwrap()])),
        0
    );
    let (_, l, _) = sb.json(&["list", "--json"]);
    assert_eq!(l["skills"][0]["id"], "z");
    std::fs::write(&src, "version = 1\n[[skills]]\nid = \"../z\"\n").unwrap();
    assert_eq!(
        code(&sb.run(&["config", "import", "--from", src.to_str().unwrap()])),
        2
    );
}

#[test]
fn help_version_and_usage_errors() {
    let sb = Sandbox::new();
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("eden-skills"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("Usage"));
    assert_eq!(code(&sb.run(&["--version"])), 0);
    assert_eq!(code(&sb.run(&["apply", "--bogus"])), 2);
    let o = sb.run(&["completions", "bash"]);
    assert!(stdout(&o).contains("eden-skills"));
}

#[test]
fn add_validates_what_it_writes() {
    let sb = Sandbox::new();
    assert_eq!(code(&sb.run(&["init"])), 0);
    let before = std::fs::read_to_string(&sb.config).unwrap();
    for args in [
        vec![
            "add",
            "--id",
            "x",
            "--repo",
            "https://h/x.git",
            "-t",
            "claude-code",
            "--verify-check",
            "smells-ok",
        ],
        vec![
            "add",
            "--id",
            "x",
            "--repo",
            "https://h/x.git",
            "-t",
            "claude-code",
            "--subpath",
            "../up",
        ],
        vec![
            "add",
            "--id",
            "-x",
            "--repo",
            "https://h/x.git",
            "-t",
            "claude-code",
        ],
        vec![
            "add",
            "--id",
            "x",
            "--repo",
            "https://h/x.git",
            "-t",
            "nosuch-agent",
        ],
    ] {
        let o = sb.run(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert_eq!(
            std::fs::read_to_string(&sb.config).unwrap(),
            before,
            "{args:?} changed the file"
        );
    }
}
