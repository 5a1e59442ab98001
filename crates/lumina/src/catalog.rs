//! Built-in catalog of common configuration modules for `lumina add`.

/// A catalog entry: where the program reads its configuration.
#[derive(Debug, Clone, Copy)]
pub struct Known {
    pub name: &'static str,
    /// Default target, as written in `lumina.yaml`.
    pub target: &'static str,
    /// Default source inside the profile.
    pub source: &'static str,
    pub about: &'static str,
}

const fn k(
    name: &'static str,
    target: &'static str,
    source: &'static str,
    about: &'static str,
) -> Known {
    Known {
        name,
        target,
        source,
        about,
    }
}

pub const CATALOG: &[Known] = &[
    k(
        "hyprland",
        "~/.config/hypr",
        "./config/hyprland",
        "Hyprland compositor (hyprland.conf, hypridle, hyprlock)",
    ),
    k(
        "waybar",
        "~/.config/waybar",
        "./config/waybar",
        "Waybar status bar",
    ),
    k(
        "kitty",
        "~/.config/kitty",
        "./config/kitty",
        "kitty terminal",
    ),
    k(
        "alacritty",
        "~/.config/alacritty",
        "./config/alacritty",
        "Alacritty terminal",
    ),
    k("foot", "~/.config/foot", "./config/foot", "foot terminal"),
    k(
        "wezterm",
        "~/.config/wezterm",
        "./config/wezterm",
        "WezTerm terminal",
    ),
    k(
        "ghostty",
        "~/.config/ghostty",
        "./config/ghostty",
        "Ghostty terminal",
    ),
    k("nvim", "~/.config/nvim", "./config/nvim", "Neovim"),
    k("helix", "~/.config/helix", "./config/helix", "Helix editor"),
    k("zsh", "~/.zshrc", "./config/zsh/zshrc", "zsh start-up file"),
    k(
        "bash",
        "~/.bashrc",
        "./config/bash/bashrc",
        "bash start-up file",
    ),
    k("fish", "~/.config/fish", "./config/fish", "fish shell"),
    k(
        "git",
        "~/.gitconfig",
        "./config/git/gitconfig",
        "git user configuration",
    ),
    k(
        "starship",
        "~/.config/starship.toml",
        "./config/starship/starship.toml",
        "Starship prompt",
    ),
    k("tmux", "~/.tmux.conf", "./config/tmux/tmux.conf", "tmux"),
    k("zellij", "~/.config/zellij", "./config/zellij", "Zellij"),
    k(
        "mako",
        "~/.config/mako",
        "./config/mako",
        "mako notifications",
    ),
    k(
        "dunst",
        "~/.config/dunst",
        "./config/dunst",
        "dunst notifications",
    ),
    k("rofi", "~/.config/rofi", "./config/rofi", "rofi launcher"),
    k("wofi", "~/.config/wofi", "./config/wofi", "wofi launcher"),
    k(
        "fuzzel",
        "~/.config/fuzzel",
        "./config/fuzzel",
        "fuzzel launcher",
    ),
    k("btop", "~/.config/btop", "./config/btop", "btop monitor"),
    k(
        "yazi",
        "~/.config/yazi",
        "./config/yazi",
        "yazi file manager",
    ),
    k(
        "lazygit",
        "~/.config/lazygit",
        "./config/lazygit",
        "lazygit",
    ),
    k(
        "fastfetch",
        "~/.config/fastfetch",
        "./config/fastfetch",
        "fastfetch",
    ),
];

pub fn find(name: &str) -> Option<&'static Known> {
    CATALOG.iter().find(|k| k.name == name)
}
