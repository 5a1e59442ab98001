//! Hardware detection from DMI (`<sysfs>/class/dmi/id/*`): which Framework
//! model this is, as the slug `lumina.yaml` uses in `metadata.target` and
//! `hosts:`, plus the defaults that follow from the model.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hardware {
    pub vendor: String,
    pub product: String,
    pub board: String,
    pub slug: String,
    /// Hyprland monitor scale that suits the built-in panel.
    pub monitor_scale: f64,
    /// The built-in panel, as a human reads it.
    pub panel: &'static str,
}

fn read(root: &Path, name: &str) -> String {
    std::fs::read_to_string(root.join("class/dmi/id").join(name))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Reads DMI under `sysfs_root` (normally `/sys`). Never fails: an unknown or
/// unreadable machine is `Generic-<arch>`.
pub fn detect(sysfs_root: &Path) -> Hardware {
    let vendor = read(sysfs_root, "sys_vendor");
    let product = read(sysfs_root, "product_name");
    let board = read(sysfs_root, "board_name");
    let (slug, monitor_scale, panel) = classify(&vendor, &product, &board);
    Hardware {
        vendor,
        product,
        board,
        slug,
        monitor_scale,
        panel,
    }
}

/// Maps DMI strings to a slug. Product names as Framework firmware writes
/// them, e.g. `Laptop 13 (AMD Ryzen 7040Series)` (some firmware writes
/// `7040 Series`), `Laptop 16 (AMD Ryzen AI 300 Series)`,
/// `Laptop (13th Gen Intel Core)`, `Laptop 12 (13th Gen Intel Core)`,
/// `Desktop (AMD Ryzen AI Max 300 Series)`.
pub fn classify(vendor: &str, product: &str, board: &str) -> (String, f64, &'static str) {
    let generic = || {
        (
            format!("Generic-{}", std::env::consts::ARCH),
            1.0,
            "unknown panel",
        )
    };
    if !vendor.to_ascii_lowercase().contains("framework") {
        return generic();
    }
    // Compare without spaces so `7040Series` and `7040 Series` read the same.
    let p: String = product
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let amd = p.contains("amd") || p.contains("ryzen");
    let ai300 = p.contains("ai300")
        || p.contains("aimax300")
        || p.contains("ai9")
        || p.contains("ai7")
        || p.contains("ai5");
    if p.starts_with("desktop") || board.to_ascii_uppercase().starts_with("FRANMFCP") {
        return ("Framework-Desktop".into(), 1.0, "external display");
    }
    if p.starts_with("laptop16") {
        let slug = if ai300 {
            "Framework-16-AMD-AI300"
        } else {
            "Framework-16-AMD"
        };
        return (slug.into(), 1.25, "16\" 2560x1600");
    }
    if p.starts_with("laptop12") {
        return ("Framework-12".into(), 1.25, "12.2\" 1920x1200");
    }
    if p.starts_with("laptop13") || p.starts_with("laptop(") || p == "laptop" {
        if amd && ai300 {
            return ("Framework-13-AMD-AI300".into(), 1.5, "13.5\" 2256x1504");
        }
        if amd {
            return ("Framework-13-AMD".into(), 1.5, "13.5\" 2256x1504");
        }
        return ("Framework-13-Intel".into(), 1.5, "13.5\" 2256x1504");
    }
    generic()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_models() {
        let c = |p| classify("Framework", p, "").0;
        assert_eq!(c("Laptop 13 (AMD Ryzen 7040Series)"), "Framework-13-AMD");
        assert_eq!(c("Laptop 13 (AMD Ryzen 7040 Series)"), "Framework-13-AMD");
        assert_eq!(
            c("Laptop 13 (AMD Ryzen AI 300 Series)"),
            "Framework-13-AMD-AI300"
        );
        assert_eq!(c("Laptop (13th Gen Intel Core)"), "Framework-13-Intel");
        assert_eq!(
            c("Laptop 13 (Intel Core Ultra Series 1)"),
            "Framework-13-Intel"
        );
        assert_eq!(c("Laptop 16 (AMD Ryzen 7040 Series)"), "Framework-16-AMD");
        assert_eq!(
            c("Laptop 16 (AMD Ryzen AI 300 Series)"),
            "Framework-16-AMD-AI300"
        );
        assert_eq!(c("Laptop 12 (13th Gen Intel Core)"), "Framework-12");
        assert_eq!(
            c("Desktop (AMD Ryzen AI Max 300 Series)"),
            "Framework-Desktop"
        );
        assert!(classify("LENOVO", "ThinkPad", "").0.starts_with("Generic-"));
    }
}
