//! Registries, Mode B entries, update, outdated and frozen installs
//! (docs/eden-skills/registries.md, README.md#update-and-outdated).

mod common;
use common::*;

/// A skill repository with tags v1.2.3 (first commit) and v2.0.0 (second).
fn tagged_skill(sb: &Sandbox, name: &str) -> String {
    let url = sb.repo(
        name,
        &[
            ("SKILL.md", &format!("---\nname: {name}\n---\nv1\n")),
            ("LICENSE", "MIT License\n"),
        ],
    );
    let d = sb.root().join("repos").join(name);
    git(&d, &["tag", "v1.2.3"]);
    sb.commit(
        name,
        &[("SKILL.md", &format!("---\nname: {name}\n---\nv2\n"))],
    );
    git(&d, &["tag", "v2.0.0"]);
    url
}

/// A registry repository holding `entries` (name, toml body).
fn registry(sb: &Sandbox, name: &str, entries: &[(&str, String)]) -> String {
    let mut files: Vec<(String, String)> = vec![(
        "manifest.toml".into(),
        format!("format_version = 1\nname = \"{name}\"\n"),
    )];
    for (skill, body) in entries {
        let c = skill.chars().next().unwrap().to_ascii_lowercase();
        files.push((format!("index/{c}/{skill}.toml"), body.clone()));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    sb.repo(name, &refs)
}

fn entry(name: &str, repo: &str, versions: &[(&str, &str, &str)]) -> String {
    let mut s = format!("[skill]\nname = \"{name}\"\nrepo = \"{repo}\"\ndescription = \"test skill\"\nlicense = \"MIT\"\n");
    for (v, r, extra) in versions {
        s.push_str(&format!(
            "\n[[versions]]\nversion = \"{v}\"\nref = \"{r}\"\n{extra}\n"
        ));
    }
    s
}

fn two_registries(sb: &Sandbox) -> (String, String, String) {
    let skill = tagged_skill(sb, "browser-use");
    let official = registry(
        sb,
        "official-index",
        &[
            ("browser-use", entry("browser-use", &skill, &[("1.2.3", "v1.2.3", ""), ("1.3.0", "v2.0.0", "yanked = true"), ("1.4.0-beta.1", "v2.0.0", "")])),
            ("broken", "[skill]\nname = \"broken\"\nrepo = \"https://h/x.git\"\n[[versions]]\nversion = \"one\"\nref = \"main\"\n".into()),
        ],
    );
    let forge = registry(
        sb,
        "forge-index",
        &[
            (
                "browser-use",
                entry("browser-use", &skill, &[("9.0.0", "v2.0.0", "")]),
            ),
            (
                "broken",
                entry("broken", &skill, &[("0.1.0", "v1.2.3", "")]),
            ),
        ],
    );
    (skill, official, forge)
}

fn regs_toml(official: &str, forge: &str) -> String {
    format!("[registries]\nofficial = {{ url = \"{official}\", priority = 100 }}\nforge = {{ url = \"{forge}\", priority = 10 }}\n")
}

#[test]
fn resolution_prefers_official_and_needs_update_first() {
    let sb = Sandbox::new();
    let (skill, official, forge) = two_registries(&sb);
    sb.write_config(&format!(
        "{}\n[[skills]]\nname = \"browser-use\"\nversion = \"1.2.0\"\ntarget = \"local\"\n",
        regs_toml(&official, &forge)
    ));
    // Offline resolution without copies: the exact guidance.
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 1);
    assert_eq!(v["failures"][0]["phase"], "resolve");
    assert_eq!(
        v["failures"][0]["message"],
        "Registry index not found. Run `eden-skills update` first."
    );

    let (rc, u, err) = sb.json(&["update", "--json"]);
    assert_eq!(rc, 0, "{err}");
    let statuses: Vec<(&str, &str)> = u["registries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, vec![("official", "cloned"), ("forge", "cloned")]);
    assert_eq!(u["failed"], 0);
    assert!(u["elapsed_ms"].is_u64());
    assert_eq!(u["skills"][0]["status"], "missing");
    let marker = sb
        .home
        .join(".eden-skills/registries/official/.eden-last-sync");
    assert!(std::fs::read_to_string(&marker)
        .unwrap()
        .trim()
        .parse::<u64>()
        .is_ok());

    let (rc, v, err) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        v["skills"][0]["resolved_version"], "1.2.3",
        "^1.2.0, official before forge, yanked 1.3.0 skipped"
    );
    assert!(
        std::fs::read_to_string(sb.claude("browser-use").join("SKILL.md"))
            .unwrap()
            .contains("v1")
    );
    let e = sb.lock_skill(0);
    assert_eq!(e["source_repo"].as_str(), Some("registry://"));
    assert_eq!(e["source_ref"].as_str(), Some("1.2.0"));
    assert_eq!(e["source_subpath"].as_str(), Some("."));
    assert_eq!(e["resolved_version"].as_str(), Some("1.2.3"));
    assert_eq!(e["resolved_registry"].as_str(), Some("official"));
    assert_eq!(e["resolved_repo"].as_str(), Some(skill.as_str()));
    assert_eq!(e["resolved_ref"].as_str(), Some("v1.2.3"));
    // Warm: no resolution, no git.
    let (_, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(v["summary"]["noop"], 1);
    let (_, l, _) = sb.json(&["list", "--json"]);
    assert_eq!(
        l["skills"][0]["registry"],
        serde_json::json!({"name": null, "version": "1.2.0"})
    );
    // The cache of the repository the registry resolved to is in use.
    let (_, c, _) = sb.json(&["clean", "--dry-run", "--json"]);
    assert_eq!(c["removed_cache_entries"], serde_json::json!([]));
    assert_eq!(c["removed_store_entries"], serde_json::json!([]));
}

#[test]
fn registry_flag_versions_prereleases_and_messages() {
    let sb = Sandbox::new();
    let (skill, official, forge) = two_registries(&sb);
    sb.write_config(&regs_toml(&official, &forge));
    assert_eq!(code(&sb.run(&["update"])), 0);
    let dry = |extra: &[&str]| {
        let mut args = vec!["install", "browser-use", "--dry-run", "--json"];
        args.extend_from_slice(extra);
        sb.json(&args)
    };
    let (rc, v, _) = dry(&[]);
    assert_eq!(rc, 0);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["version"], "1.2.3", "`*` never picks a pre-release");
    assert_eq!(v["resolved"]["repo"], skill.as_str());
    assert_eq!(v["resolved"]["ref"], "v1.2.3");
    assert_eq!(v["resolved"]["subpath"], ".");
    assert_eq!(v["resolved"]["commit"], serde_json::Value::Null);
    assert_eq!(v["targets"][0]["agent"], "claude-code");
    let (_, v, _) = dry(&["--registry", "forge"]);
    assert_eq!(v["version"], "9.0.0");
    let (_, v, _) = dry(&["--version", "^1.4.0-beta.1"]);
    assert_eq!(v["version"], "1.4.0-beta.1");
    let (rc, v, err) = dry(&["--version", "~1.3"]);
    assert_eq!(rc, 1);
    assert_eq!(v["status"], "failed");
    assert!(err.contains("no version of `browser-use` in registry `official` matches `~1.3`; available: 1.4.0-beta.1, 1.2.3"), "{err}");
    let o = sb.run(&[
        "install",
        "browser-use",
        "--dry-run",
        "--json",
        "--version",
        "not a version",
    ]);
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty(), "exit 2 prints no JSON");
    assert!(stderr(&o).contains("INVALID_SEMVER: --version:"));
    let o = sb.run(&["install", "nothing-here", "--dry-run"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains(
            "skill `nothing-here` not found in configured registries: official(100), forge(10)"
        ),
        "{}",
        stderr(&o)
    );
    // A malformed entry is skipped with a warning naming its file; forge decides.
    let o = sb.run(&["install", "broken", "--dry-run", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("registries/official/index/b/broken.toml"),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], "0.1.0");
    assert!(
        !sb.claude("browser-use").exists(),
        "dry runs install nothing"
    );
    // A real registry install persists name, version and registry.
    let (rc, v, err) = sb.json(&["install", "browser-use", "--registry", "forge", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["status"], "installed");
    assert_eq!(v["skill"], "browser-use");
    assert_eq!(v["version"], "9.0.0");
    let text = std::fs::read_to_string(&sb.config).unwrap();
    assert!(
        text.contains("name = \"browser-use\"")
            && text.contains("version = \"*\"")
            && text.contains("registry = \"forge\""),
        "{text}"
    );
    assert_eq!(
        sb.lock_skill(0)["source_repo"].as_str(),
        Some("registry://forge")
    );
}

#[test]
fn pinned_commits_are_installed_exactly() {
    let sb = Sandbox::new();
    let skill = tagged_skill(&sb, "pinned");
    let d = sb.root().join("repos/pinned");
    let first = {
        let o = std::process::Command::new("git")
            .args(["rev-parse", "v1.2.3^{commit}"])
            .current_dir(&d)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    // The index pins 1.0.0 to the first commit, but its ref now points at the second.
    let reg = registry(
        &sb,
        "pin-index",
        &[(
            "pinned",
            entry(
                "pinned",
                &skill,
                &[("1.0.0", "v2.0.0", &format!("commit = \"{first}\""))],
            ),
        )],
    );
    sb.write_config(&format!("[registries]\nofficial = {{ url = \"{reg}\" }}\n\n[[skills]]\nname = \"pinned\"\ntarget = \"local\"\n"));
    assert_eq!(code(&sb.run(&["update"])), 0);
    let o = sb.run(&["apply", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "ref v2.0.0 of pinned moved; installing pinned commit {first}"
        )),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["skills"][0]["resolved_commit"], first);
    assert!(
        std::fs::read_to_string(sb.claude("pinned").join("SKILL.md"))
            .unwrap()
            .contains("v1")
    );
    // A pinned commit that does not exist is a checkout failure.
    let reg2 = registry(
        &sb,
        "pin-index-2",
        &[(
            "ghost",
            entry(
                "ghost",
                &skill,
                &[(
                    "1.0.0",
                    "v2.0.0",
                    &format!("commit = \"{}\"", "a".repeat(40)),
                )],
            ),
        )],
    );
    sb.write_config(&format!("[registries]\nofficial = {{ url = \"{reg2}\" }}\n\n[[skills]]\nname = \"ghost\"\ntarget = \"local\"\n"));
    std::fs::remove_dir_all(sb.home.join(".eden-skills/registries")).unwrap();
    assert_eq!(code(&sb.run(&["update"])), 0);
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 1);
    assert_eq!(v["failures"][0]["phase"], "checkout");
    assert_eq!(
        v["failures"][0]["message"],
        format!("pinned commit {} not found in {skill}", "a".repeat(40))
    );
}

#[test]
fn update_with_a_broken_registry_keeps_going() {
    let sb = Sandbox::new();
    let (_, official, _) = two_registries(&sb);
    let missing = format!("file://{}/no-such-registry", sb.root().display());
    sb.write_config(&regs_toml(&official, &missing));
    let (rc, u, _) = sb.json(&["update", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(u["failed"], 1);
    assert_eq!(u["registries"][0]["status"], "cloned");
    assert_eq!(u["registries"][1]["status"], "failed");
    assert!(u["registries"][1]["detail"]
        .as_str()
        .unwrap()
        .contains("repository not found"));
    assert_eq!(code(&sb.run(&["update", "--strict"])), 1);
    // A second update of the good one: nothing new.
    let (_, u, _) = sb.json(&["update", "--json"]);
    assert_eq!(u["registries"][0]["status"], "skipped");
    // doctor: the failed one has no copy; a stale marker is reported too.
    let marker = sb
        .home
        .join(".eden-skills/registries/official/.eden-last-sync");
    std::fs::write(&marker, format!("{}\n", 1_000_000_000)).unwrap();
    let (_, d, _) = sb.json(&["doctor", "--json"]);
    let stale: Vec<&str> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "REGISTRY_STALE")
        .map(|f| f["skill_id"].as_str().unwrap())
        .collect();
    assert_eq!(stale, vec!["registry:official", "registry:forge"]);
    // Nothing configured at all: guidance, exit 0.
    sb.write_config("");
    let o = sb.run(&["update"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("Nothing to update"));
}

#[test]
fn frozen_installs_exactly_the_lock_or_refuses() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("fz");
    sb.write_config(&Sandbox::entry("fz", &url));
    let o = sb.run(&["apply", "--frozen"]);
    assert_eq!(code(&o), 3);
    assert!(
        stderr(&o).contains("frozen: config and lock disagree: no usable lock file"),
        "{}",
        stderr(&o)
    );
    assert_eq!(code(&sb.run(&["apply"])), 0);
    let locked = sb.lock_skill(0)["resolved_commit"]
        .as_str()
        .unwrap()
        .to_string();
    sb.commit("fz", &[("SKILL.md", "moved on\n")]);
    std::fs::remove_dir_all(sb.home.join(".eden-skills/skills")).unwrap();
    std::fs::remove_file(sb.claude("fz")).unwrap();
    let lock_before = std::fs::read_to_string(sb.config.with_file_name("skills.lock")).unwrap();
    let (rc, v, err) = sb.json(&["apply", "--frozen", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["skills"][0]["resolved_commit"], locked);
    assert_eq!(
        std::fs::read_to_string(sb.config.with_file_name("skills.lock")).unwrap(),
        lock_before
    );
    // Config and lock disagree: mode, then an extra skill.
    let text = std::fs::read_to_string(&sb.config).unwrap();
    std::fs::write(
        &sb.config,
        text.replace(
            "[[skills.targets]]",
            "install = { mode = \"copy\" }\n[[skills.targets]]",
        ),
    )
    .unwrap();
    let (rc, v, err) = sb.json(&["apply", "--frozen", "--json"]);
    assert_eq!(rc, 3);
    assert_eq!(v["exit_code"], 3);
    assert!(err.contains("frozen: config and lock disagree: skill 'fz' install mode is copy in config, symlink in lock"), "{err}");
    std::fs::write(
        &sb.config,
        format!("{text}{}", Sandbox::entry("extra", &url)),
    )
    .unwrap();
    let o = sb.run(&["apply", "--frozen"]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("skill 'extra' is not in the lock"));
}

#[test]
fn outdated_and_update_apply() {
    let sb = Sandbox::new();
    let (_, official, forge) = two_registries(&sb);
    let git_url = sb.skill_repo("gitskill");
    let dir = sb.root().join("localskill");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("SKILL.md"), "local\n").unwrap();
    sb.write_config(&format!(
        "{}{}\n[[skills]]\nid = \"localskill\"\nsource = {{ repo = \"{}\" }}\ntarget = \"local\"\n\n[[skills]]\nname = \"browser-use\"\nversion = \"1\"\ntarget = \"local\"\n{}",
        regs_toml(&official, &forge),
        Sandbox::entry("gitskill", &git_url),
        dir.display(),
        Sandbox::entry("later", &git_url),
    ));
    assert_eq!(code(&sb.run(&["update"])), 0);
    let o = sb.run(&["install", &git_url, "--id", "gitskill", "-t", "claude-code"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (rc, _, err) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0, "{err}");
    // Remove "later" from the lock to make it not installed.
    let lock_path = sb.config.with_file_name("skills.lock");
    let mut lock: toml::Table = std::fs::read_to_string(&lock_path)
        .unwrap()
        .parse()
        .unwrap();
    lock.get_mut("skills")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .retain(|s| s["id"].as_str() != Some("later"));
    std::fs::write(&lock_path, toml::to_string(&lock).unwrap()).unwrap();
    // Upstream moves: a git commit, a newer registry version.
    sb.commit("gitskill", &[("SKILL.md", "newer\n")]);
    let skill_url = format!("file://{}", sb.root().join("repos/browser-use").display());
    sb.commit(
        "official-index",
        &[(
            "index/b/browser-use.toml",
            &entry(
                "browser-use",
                &skill_url,
                &[("1.2.3", "v1.2.3", ""), ("1.5.0", "v2.0.0", "")],
            ),
        )],
    );
    assert_eq!(code(&sb.run(&["update"])), 0);
    let before = std::fs::read_to_string(&lock_path).unwrap();
    let (rc, v, _) = sb.json(&["outdated", "--json"]);
    assert_eq!(rc, 0);
    let get = |id: &str| {
        v["skills"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(get("gitskill")["kind"], "git");
    assert_eq!(get("gitskill")["status"], "outdated");
    assert_eq!(get("gitskill")["latest"]["commit"], sb.head("gitskill"));
    assert_eq!(get("localskill")["kind"], "local");
    assert_eq!(get("localskill")["status"], "up-to-date");
    assert_eq!(get("browser-use")["kind"], "registry");
    assert_eq!(get("browser-use")["current"]["version"], "1.2.3");
    assert_eq!(get("browser-use")["latest"]["version"], "1.5.0");
    assert_eq!(get("browser-use")["status"], "outdated");
    assert_eq!(get("later")["status"], "not-installed");
    assert_eq!(v["outdated"], 2);
    assert_eq!(v["failed"], 0);
    assert_eq!(
        std::fs::read_to_string(&lock_path).unwrap(),
        before,
        "outdated writes nothing"
    );
    assert!(
        std::fs::read_to_string(sb.claude("gitskill").join("SKILL.md"))
            .unwrap()
            .contains("Do gitskill")
    );
    // update --apply moves them forward.
    let (rc, u, err) = sb.json(&["update", "--apply", "--json"]);
    assert_eq!(rc, 0, "{err}");
    let st = |id: &str| {
        u["skills"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(st("gitskill")["status"], "new-commit");
    assert_eq!(st("gitskill")["applied"], true);
    assert_eq!(st("browser-use")["status"], "new-commit");
    assert_eq!(st("later")["status"], "missing");
    assert_eq!(st("later")["applied"], true);
    assert_eq!(st("localskill")["status"], "up-to-date");
    assert_eq!(
        std::fs::read_to_string(sb.claude("gitskill").join("SKILL.md")).unwrap(),
        "newer\n"
    );
    let (_, v, _) = sb.json(&["outdated", "--json"]);
    assert_eq!(v["outdated"], 0, "{v}");
    // Yanking the locked version: doctor warns.
    sb.commit(
        "official-index",
        &[(
            "index/b/browser-use.toml",
            &entry(
                "browser-use",
                &skill_url,
                &[
                    ("1.2.3", "v1.2.3", ""),
                    ("1.5.0", "v2.0.0", "yanked = true"),
                ],
            ),
        )],
    );
    assert_eq!(code(&sb.run(&["update"])), 0);
    let (_, d, _) = sb.json(&["doctor", "--json"]);
    assert!(
        d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "YANKED_VERSION_LOCKED" && f["skill_id"] == "browser-use"),
        "{d}"
    );
}
