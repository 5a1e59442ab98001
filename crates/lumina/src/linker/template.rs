//! Templates (`template: [globs]`): files rendered with minijinja into the
//! generation, so that one profile can carry per-machine differences. The
//! context is the machine (`hardware`, `hostname`, `tags`), the process
//! environment (`env.NAME`) and the registry's `vars:`. An undefined name
//! is an error naming the file, the line and the name; nothing changes.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::host::Host;
use crate::registry::Registry;

/// The template engine and the context every template of a sync sees.
pub struct Templates {
    env: Environment<'static>,
    ctx: Value,
    json: serde_json::Value,
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub line: Option<usize>,
    pub message: String,
    pub help: String,
}

impl Templates {
    pub fn new(reg: &Registry, host: &Host) -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        let vars: BTreeMap<String, String> = std::env::vars().collect();
        let json = serde_json::json!({
            "hardware": {
                "slug": host.hardware.slug,
                "vendor": host.hardware.vendor,
                "product": host.hardware.product,
                "board": host.hardware.board,
                "monitor_scale": host.hardware.monitor_scale,
                "panel": host.hardware.panel,
            },
            "hostname": host.hostname,
            "tags": host.tags,
            "env": vars,
            "vars": reg.vars,
        });
        Templates {
            env,
            ctx: Value::from_serialize(&json),
            json,
        }
    }

    /// Renders the template at `path` (its text is `text`).
    pub fn render(&self, path: &Path, text: &str) -> Result<Vec<u8>, RenderError> {
        let name = path.display().to_string();
        let tmpl = self
            .env
            .template_from_named_str(&name, text)
            .map_err(|e| self.explain(&e, None))?;
        tmpl.render(&self.ctx)
            .map(String::into_bytes)
            .map_err(|e| self.explain(&e, Some(&tmpl)))
    }

    fn explain(&self, e: &minijinja::Error, tmpl: Option<&minijinja::Template>) -> RenderError {
        use minijinja::ErrorKind;
        let line = e.line();
        if e.kind() == ErrorKind::UndefinedError {
            // Name the first variable the template uses that the context
            // does not define.
            let mut used: Vec<String> = tmpl
                .map(|t| t.undeclared_variables(true).into_iter().collect())
                .unwrap_or_default();
            used.sort();
            if let Some(v) = used.iter().find(|v| !self.defined(v)) {
                let help = match v.split('.').next() {
                    Some("vars") => format!(
                        "define it under `vars:` in lumina.yaml, or give a default: {{{{ {v} | default(\"...\") }}}}"
                    ),
                    Some("env") => format!(
                        "set it in the environment of `lumina sync`, or give a default: {{{{ {v} | default(\"...\") }}}}"
                    ),
                    _ => "templates know hardware, hostname, tags, env.NAME and vars.NAME".to_string(),
                };
                return RenderError {
                    line,
                    message: format!("undefined variable `{v}`"),
                    help,
                };
            }
        }
        RenderError {
            line,
            message: e
                .detail()
                .map(|d| format!("{}: {d}", e.kind()))
                .unwrap_or_else(|| e.kind().to_string()),
            help: "fix the template syntax (minijinja, the Jinja2 dialect)".into(),
        }
    }

    /// Whether a dotted name (`vars.theme.dark`) resolves in the context.
    fn defined(&self, dotted: &str) -> bool {
        let mut cur = &self.json;
        for part in dotted.split('.') {
            match cur.get(part) {
                Some(v) => cur = v,
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            hardware: crate::hardware::detect(Path::new("/nonexistent")),
            hostname: "box".into(),
            tags: vec!["work".into()],
        }
    }

    fn reg(vars: &str) -> Registry {
        let text = format!("version: 1\nvars:\n{vars}");
        crate::registry::parse(Path::new("/p/lumina.yaml"), &text, true).unwrap()
    }

    #[test]
    fn renders_every_kind_of_variable() {
        std::env::set_var("LUMINA_TEMPLATE_TEST", "from-env");
        let t = Templates::new(&reg("  theme: dark\n  size: 11\n"), &host());
        let out = t
            .render(
                Path::new("a.conf"),
                "{{ hostname }} {{ hardware.slug }} {{ tags | join(',') }} {{ env.LUMINA_TEMPLATE_TEST }} {{ vars.theme }} {{ vars.size + 1 }}\n",
            )
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("box Generic-"), "{out}");
        assert!(out.ends_with(" work from-env dark 12\n"), "{out}");
    }

    #[test]
    fn an_undefined_name_is_named_with_its_line() {
        let t = Templates::new(&reg("  theme: dark\n"), &host());
        let e = t
            .render(Path::new("a.conf"), "line one\nfont = {{ vars.font }}\n")
            .unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.message, "undefined variable `vars.font`");
        let e = t.render(Path::new("a.conf"), "{% if %}").unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}
