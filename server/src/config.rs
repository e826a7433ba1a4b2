//! The server's settings: from `initializationOptions`, then `workspace/didChangeConfiguration`.

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// User settings that change how projects are evaluated and built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Whether the client says the workspace is trusted; nothing runs until it is.
    pub trusted: bool,
    /// `ARCH=` override passed to make.
    pub arch: Option<String>,
    /// `MPY_DIR=` override passed to make.
    pub mpy_dir: Option<String>,
    /// Further `NAME=value` overrides passed to make.
    pub make_variables: BTreeMap<String, String>,
    /// Overrides passed to make only when building for one arch (`{"xtensawin": {"CROSS":
    /// "xtensa-lx106-elf-"}}`); they win over `make_variables`.
    pub arch_make_variables: BTreeMap<String, BTreeMap<String, String>>,
    /// Arches built in the background after each successful build (portability warnings).
    pub portability_archs: Vec<String>,
    /// How long to wait after a save for more saves before building.
    pub debounce: Duration,
    /// How long evaluating a Makefile with make may take before make is killed.
    pub make_timeout: Duration,
}

/// The shortest and longest `makeTimeoutMs` accepted (values outside are clamped).
const MAKE_TIMEOUT_MS: (u64, u64) = (1_000, 600_000);

impl Default for Config {
    fn default() -> Self {
        Config {
            trusted: false,
            arch: None,
            mpy_dir: None,
            make_variables: BTreeMap::new(),
            arch_make_variables: BTreeMap::new(),
            portability_archs: Vec::new(),
            debounce: Duration::from_millis(40),
            make_timeout: Duration::from_secs(20),
        }
    }
}

impl Config {
    /// Reads `initializationOptions` (`{"trusted": true, "arch": "armv7m", "mpyDir": "...",
    /// "makeVariables": {"CROSS": "..."}, "debounceMs": 40, "makeTimeoutMs": 20000}`; also
    /// accepted under `"natmod"`).
    pub fn from_init_options(v: Option<&Value>) -> Config {
        let mut c = Config::default();
        if let Some(v) = v {
            c.trusted = section(v)
                .get("trusted")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            c.apply_settings(v);
        }
        c
    }

    /// Applies settings (from `didChangeConfiguration`); `trusted` is only taken from
    /// `initializationOptions`. Returns whether anything that affects builds changed.
    pub fn apply_settings(&mut self, v: &Value) -> bool {
        let before = self.clone();
        let v = section(v);
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        if v.get("arch").is_some() {
            self.arch = text("arch");
        }
        if v.get("mpyDir").is_some() {
            self.mpy_dir = text("mpyDir");
        }
        if let Some(m) = v.get("makeVariables") {
            self.make_variables = variables(m);
        }
        if let Some(m) = v.get("archMakeVariables").and_then(Value::as_object) {
            self.arch_make_variables = m
                .iter()
                .map(|(arch, vars)| (arch.clone(), variables(vars)))
                .collect();
        }
        if let Some(a) = v.get("portabilityArchs").and_then(Value::as_array) {
            self.portability_archs = a
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(ms) = v.get("debounceMs").and_then(Value::as_u64) {
            self.debounce = Duration::from_millis(ms.min(10_000));
        }
        if let Some(ms) = v.get("makeTimeoutMs").and_then(Value::as_u64) {
            let (lo, hi) = MAKE_TIMEOUT_MS;
            self.make_timeout = Duration::from_millis(ms.clamp(lo, hi));
        }
        *self != before
    }

    /// The `NAME=value` arguments for make, in a stable order.
    pub fn make_overrides(&self) -> Vec<String> {
        let mut vars = self.make_variables.clone();
        if let Some(a) = &self.arch {
            if let Some(own) = self.arch_make_variables.get(a) {
                vars.extend(own.clone());
            }
            vars.insert("ARCH".into(), a.clone());
        }
        if let Some(d) = &self.mpy_dir {
            vars.insert("MPY_DIR".into(), d.clone());
        }
        vars.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// The valid `NAME: "value"` pairs of a JSON object (others are left out).
fn variables(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| valid_var_name(k))
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}

/// `v["natmod"]` when present, else `v`.
fn section(v: &Value) -> &Value {
    v.get("natmod").filter(|s| s.is_object()).unwrap_or(v)
}

/// Whether `name` is safe as a make variable name on the command line.
pub fn valid_var_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_options_and_settings() {
        let c = Config::from_init_options(Some(&json!({
            "trusted": true, "arch": "armv7m", "makeVariables": {"CROSS": "x-", "bad name": "1"}
        })));
        assert!(c.trusted);
        assert_eq!(c.make_overrides(), vec!["ARCH=armv7m", "CROSS=x-"]);
        let mut c2 = c.clone();
        assert!(c2.apply_settings(&json!({"natmod": {"arch": "x64", "trusted": false}})));
        assert!(c2.trusted, "settings cannot change trust");
        assert_eq!(c2.arch.as_deref(), Some("x64"));
        assert_eq!(c2.make_timeout, Duration::from_secs(20));
        assert!(c2.apply_settings(&json!({"makeTimeoutMs": 1})));
        assert_eq!(c2.make_timeout, Duration::from_secs(1), "clamped up");
        c2.apply_settings(&json!({"natmod": {"makeTimeoutMs": 99_000_000}}));
        assert_eq!(c2.make_timeout, Duration::from_secs(600), "clamped down");
        assert!(c2.apply_settings(&json!({
            "archMakeVariables": {"xtensawin": {"CROSS": "xtensa-lx106-elf-"}},
            "portabilityArchs": ["armv6m", " ", "xtensawin"],
        })));
        assert_eq!(c2.portability_archs, vec!["armv6m", "xtensawin"]);
        assert_eq!(c2.make_overrides(), vec!["ARCH=x64", "CROSS=x-"]);
        c2.arch = Some("xtensawin".into());
        assert_eq!(
            c2.make_overrides(),
            vec!["ARCH=xtensawin", "CROSS=xtensa-lx106-elf-"],
            "the arch's own variables win"
        );
        assert!(!Config::from_init_options(None).trusted);
        assert!(!Config::from_init_options(Some(&json!("garbage"))).trusted);
    }
}
