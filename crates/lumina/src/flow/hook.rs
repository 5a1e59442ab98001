//! The shell code `lumina hook <shell>` prints for the user's rc file.
//!
//! It starts no process when the shell starts, and none at a prompt where
//! the directory did not change: zsh and fish are told about directory
//! changes by the shell itself (`chpwd_functions`, `--on-variable PWD`);
//! bash compares `$PWD` with the last one inside the shell. The flow runs
//! detached, so the prompt never waits for the compositor.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Zsh,
    Bash,
    Fish,
}

/// Single-quotes `s` for POSIX shells and fish.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "'\\''"))
}

fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The hook for `shell`, running the lumina binary at `exe`.
pub fn script(shell: Shell, exe: &str) -> String {
    match shell {
        Shell::Zsh => format!(
            r#"# lumina flow hook for zsh: eval "$(lumina hook zsh)" in ~/.zshrc
_lumina_flow() {{
  {exe} flow --dir "$PWD" >/dev/null 2>&1 &!
}}
typeset -ag chpwd_functions
if (( ! ${{chpwd_functions[(I)_lumina_flow]}} )); then
  chpwd_functions+=(_lumina_flow)
fi
"#,
            exe = quote(exe)
        ),
        Shell::Bash => format!(
            r#"# lumina flow hook for bash: eval "$(lumina hook bash)" in ~/.bashrc
_lumina_flow() {{
  if [[ "$PWD" != "${{_LUMINA_PWD-}}" ]]; then
    _LUMINA_PWD=$PWD
    ({exe} flow --dir "$PWD" >/dev/null 2>&1 &)
  fi
}}
_LUMINA_PWD=$PWD
if [[ ";${{PROMPT_COMMAND[*]-}};" != *";_lumina_flow;"* ]]; then
  PROMPT_COMMAND="_lumina_flow${{PROMPT_COMMAND:+;$PROMPT_COMMAND}}"
fi
"#,
            exe = quote(exe)
        ),
        Shell::Fish => format!(
            r#"# lumina flow hook for fish: lumina hook fish | source (in config.fish)
function __lumina_flow --on-variable PWD
    command {exe} flow --dir "$PWD" >/dev/null 2>&1 &
    disown 2>/dev/null
end
"#,
            exe = fish_quote(exe)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_odd_paths() {
        assert_eq!(quote("/opt/it's/lumina"), r"'/opt/it'\''s/lumina'");
        assert!(script(Shell::Bash, "/usr/bin/lumina")
            .contains("('/usr/bin/lumina' flow --dir \"$PWD\""));
        assert!(script(Shell::Fish, "/a b/lumina").contains("command '/a b/lumina' flow"));
    }
}
