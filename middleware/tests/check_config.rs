//! `selfbrake check-config`: one test per kind of error, each naming the key.
use std::path::PathBuf;
use std::process::Command;

const BACKEND: &str =
    "[backends.gpu]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:8000/v1\"\n";
const KEY: &str = "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

fn check(name: &str, toml: &str) -> (bool, String) {
    let path: PathBuf = std::env::temp_dir().join(format!(
        "selfbrake-check-{}-{name}.toml",
        std::process::id()
    ));
    std::fs::write(&path, toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_selfbrake"))
        .arg("check-config")
        .arg(&path)
        .env_remove("SELFBRAKE__SERVER__LISTEN")
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    // The documented exit codes: 0 for a valid file, 1 for any problem.
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "exit status {:?}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn assert_error(name: &str, toml: &str, path: &str, words: &str) {
    let (ok, text) = check(name, toml);
    assert!(!ok, "{name}: expected exit 1, got success:\n{text}");
    let line = text
        .lines()
        .find(|l| l.contains(&format!(": {path}: ")))
        .unwrap_or_else(|| panic!("{name}: no error for `{path}` in:\n{text}"));
    assert!(line.contains(words), "{name}: {line:?} lacks {words:?}");
}

#[test]
fn valid_examples_pass() {
    for file in [
        "vllm.toml",
        "vllm-probe.toml",
        "multi-tenant.toml",
        "llamacpp.toml",
        "routing.toml",
    ] {
        let path = selfbrake_tests::repo_root().join("examples").join(file);
        let out = Command::new(env!("CARGO_BIN_EXE_selfbrake"))
            .arg("check-config")
            .arg(&path)
            // multi-tenant.toml names the backend key's variable.
            .env("GPU_API_KEY", "sk-example")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn unknown_keys() {
    assert_error(
        "unknown-server",
        "[server]\nlisen = \"x\"\n",
        "server.lisen",
        "unknown field",
    );
    assert_error(
        "unknown-backend",
        &format!("{BACKEND}timeout = 5\n"),
        "backends.gpu.timeout",
        "unknown field",
    );
    assert_error(
        "unknown-section",
        &format!("{BACKEND}[polices.x]\nrules = []\n"),
        "polices",
        "unknown field",
    );
}

#[test]
fn routing_mistakes() {
    assert_error(
        "model-twice",
        &format!("{BACKEND}models = [\"r1\", {{ name = \"r1\", upstream = \"qwen3-8b\" }}]\n"),
        "backends.gpu.models",
        "`r1` is listed twice",
    );
    assert_error(
        "tenant-unknown-backend",
        &format!(
            "{BACKEND}[tenants.t]\napi_keys = []\nbackends = [\"gpu\", \"cpu\"]\npolicy = \"default\"\n"
        ),
        "tenants.t.backend",
        "no backend named `cpu`",
    );
    assert_error(
        "tenant-no-backend",
        &format!("{BACKEND}[tenants.t]\napi_keys = []\npolicy = \"default\"\n"),
        "tenants.t.backend",
        "needs `backend` or `backends`",
    );
}

#[test]
fn unknown_rule_kind_and_rule_parameter() {
    let toml = format!("{BACKEND}[policies.p]\nrules = [{{ kind = \"budgett\" }}]\n");
    assert_error(
        "rule-kind",
        &toml,
        "policies.p.rules[0].kind",
        "unknown variant",
    );
}

#[test]
fn bad_thresholds() {
    let toml = format!(
        "{BACKEND}[policies.p]\nrules = [{{ kind = \"budget\", max_reasoning_tokens = 0 }}]\n"
    );
    assert_error(
        "budget-zero",
        &toml,
        "policies.p.rules[0].max_reasoning_tokens",
        "at least",
    );
    let toml = format!("{BACKEND}[policies.p]\nanswer_max_tokens = 0\n");
    assert_error(
        "answer-zero",
        &toml,
        "policies.p.answer_max_tokens",
        "at least 1",
    );
    let toml = format!("{BACKEND}[backends.gpu2]\nkind = \"openai\"\nbase_url = \"ftp://x\"\nidle_timeout_ms = 0\n");
    assert_error("base-url", &toml, "backends.gpu2.base_url", "http://");
    assert_error(
        "idle-zero",
        &toml,
        "backends.gpu2.idle_timeout_ms",
        "at least 1",
    );
    assert_error(
        "listen",
        &format!("[server]\nlisten = \"nowhere\"\n{BACKEND}"),
        "server.listen",
        "address",
    );
}

#[test]
fn tenant_naming_missing_policy_or_backend() {
    let toml = format!("{BACKEND}[tenants.t]\nbackend = \"cpu\"\npolicy = \"fast\"\nallowed_policies = [\"slow\"]\n");
    assert_error(
        "missing-backend",
        &toml,
        "tenants.t.backend",
        "no backend named `cpu`",
    );
    assert_error(
        "missing-policy",
        &toml,
        "tenants.t.policy",
        "no policy named `fast`",
    );
    assert_error(
        "missing-allowed",
        &toml,
        "tenants.t.allowed_policies[0]",
        "no policy named `slow`",
    );
}

#[test]
fn keys_must_be_hashed_and_unique() {
    let toml = format!(
        "{BACKEND}[tenants.a]\napi_keys = [\"sk-plain\"]\nbackend = \"gpu\"\npolicy = \"default\"\n\
         [tenants.b]\napi_keys = [\"{KEY}\"]\nbackend = \"gpu\"\npolicy = \"default\"\n\
         [tenants.c]\napi_keys = [\"{KEY}\"]\nbackend = \"gpu\"\npolicy = \"default\"\n"
    );
    assert_error("plain-key", &toml, "tenants.a.api_keys[0]", "sha256:");
    assert_error(
        "duplicate-key",
        &toml,
        "tenants.c.api_keys[0]",
        "also given to tenant `b`",
    );
    let (_, text) = check("no-leak", &toml);
    assert!(
        !text.contains("sk-plain"),
        "a key never appears in errors:\n{text}"
    );
}

#[test]
fn limits_and_anonymous_tenants() {
    let toml = format!(
        "{BACKEND}[tenants.a]\nanonymous = true\nbackend = \"gpu\"\npolicy = \"default\"\nrequests_per_minute = 0\n\
         [tenants.b]\nanonymous = true\nbackend = \"gpu\"\npolicy = \"default\"\n"
    );
    assert_error(
        "rpm-zero",
        &toml,
        "tenants.a.requests_per_minute",
        "at least 1",
    );
    assert_error(
        "two-anonymous",
        &toml,
        "tenants",
        "only one tenant may be anonymous",
    );
}

#[test]
fn environment_overrides_are_applied_and_checked() {
    let path =
        std::env::temp_dir().join(format!("selfbrake-check-env-{}.toml", std::process::id()));
    std::fs::write(&path, BACKEND).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_selfbrake"))
        .arg("check-config")
        .arg(&path)
        .env("SELFBRAKE__SERVER__LISTEN", "not-an-address")
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.listen"));
}

#[test]
fn an_unset_key_variable_is_named() {
    assert_error(
        "unset-key-env",
        &format!("{BACKEND}api_key_env = \"SELFBRAKE_TEST_UNSET_KEY_VAR\"\n"),
        "backends.gpu.api_key_env",
        "SELFBRAKE_TEST_UNSET_KEY_VAR",
    );
}

#[test]
fn hash_key_reads_the_key_from_stdin_without_an_argument() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_selfbrake"))
        .arg("hash-key")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"abc\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
