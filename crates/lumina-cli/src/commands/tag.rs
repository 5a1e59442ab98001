//! `tag add|remove|list`: this machine's tags (`hosts: [tag:NAME]`).

use std::process::ExitCode;

use lumina::{host, Env};

use super::Global;
use crate::cli::TagAction;
use crate::render::emit_json;

pub fn tag(env: &Env, g: &Global, action: TagAction) -> anyhow::Result<ExitCode> {
    let tags: Vec<String> = match &action {
        TagAction::Add { names } => host::edit_tags(&env.lumina_home, names, true)?,
        TagAction::Remove { names } => host::edit_tags(&env.lumina_home, names, false)?,
        TagAction::List => host::load_tags(&env.lumina_home)?,
    }
    .into_iter()
    .collect();
    let machine = host::Host::detect(env)?;
    if g.json {
        emit_json(&serde_json::json!({
            "hostname": machine.hostname,
            "hardware": machine.hardware.slug,
            "tags": tags,
            "file": host::tags_path(&env.lumina_home),
        }))?;
    } else {
        println!("hostname  {}", machine.hostname);
        println!("hardware  {}", machine.hardware.slug);
        if tags.is_empty() {
            println!("tags      none (add one with `lumina tag add NAME`)");
        } else {
            println!("tags      {}", tags.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
