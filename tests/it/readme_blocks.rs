//! The README, followed literally: its shell blocks, in order, pasted into one bash process
//! against a fresh `signet serve`, as a reader would paste them into one terminal.
//!
//! Which blocks run: every fenced block whose info string is `sh` or `bash`, in the order of the
//! text; other blocks (output, TOML, Rust, nginx) are not commands. An HTML comment on the line
//! just above a block's fence (invisible on the rendered page) marks it:
//! - `<!-- readme-test: skip: REASON -->`: not run. For blocks that cannot run here (a second
//!   server in the foreground, a cloud bucket); the reason is required and printed.
//! - `<!-- readme-test: refused -->`: the block shows a refusal and must fail. It runs in a
//!   subshell of its own, so the variables it sets do not carry over.
//!
//! What differs from a reader's terminal, and why:
//! - `http://127.0.0.1:8080`, the README's default address, is the test server's address: the
//!   server listens on an ephemeral port, as 8080 may be taken.
//! - A placeholder line `NAME=...` (a value the reader copies from the server's first start) is
//!   filled with what this server printed; only `BOOTSTRAP_ID` and `BOOTSTRAP_SECRET` exist.
//! - `cargo run --release -- ARGS` and `signet ARGS` run the binary under test, through scripts
//!   first on `PATH`: building a release binary here would take many minutes.
//! - bash runs with `set -euo pipefail` and `curl` with `--fail-with-body`, so a non-2xx answer,
//!   a failed command or an unset variable the README does not mark as a refusal fails the test.
//! - The blocks run in a temporary directory, where the server keeps its data too (a reader's
//!   checkout); afterwards every file they wrote there must be one `.gitignore` ignores.
//!
//! Needs bash, curl, openssl, jq, git and python3 with PyJWT and authlib; without one the test
//! prints `SKIPPED: …` and passes, except under CI=true, where `.ci/run` installs the Python
//! packages and the test fails rather than skips.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::in_ci;
use crate::serve_process::{SIGNET, ServeProcess};

const README: &str = include_str!("../../README.md");

/// The README's server address, as a reader's server has it with no configuration.
const README_BASE: &str = "http://127.0.0.1:8080";

/// Long enough for the slowest block (4096-bit keygen, a signing-key revocation that waits out
/// 4 s) on a loaded 2-core machine; a block that hangs (a server left in the foreground) ends
/// the run instead of the test suite.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Run,
    Refused,
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    /// 1-based line of the opening fence in README.md.
    line: usize,
    mode: Mode,
    body: String,
}

const MARKER_START: &str = "<!-- readme-test:";

/// The shell blocks of `markdown`, in order, with their marks. A marker that does not sit just
/// above a shell block, or a skip without a reason, is an error: a mark must not silently stop
/// applying when the text around it changes.
fn shell_blocks(markdown: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim_start().starts_with(MARKER_START) {
            let next = lines.get(i + 1).copied().unwrap_or("");
            if !is_shell_fence(next) {
                return Err(format!(
                    "README.md line {}: a readme-test marker must be just above a ```sh or \
                     ```bash block",
                    i + 1
                ));
            }
            i += 1;
            continue;
        }
        let Some(info) = line.strip_prefix("```") else {
            i += 1;
            continue;
        };
        let fence = i;
        let mut body = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim_end() != "```" {
            body.push_str(lines[i]);
            body.push('\n');
            i += 1;
        }
        if i == lines.len() {
            return Err(format!("README.md line {}: unclosed block", fence + 1));
        }
        i += 1;
        if !matches!(info.trim(), "sh" | "bash") {
            continue;
        }
        let mode = match fence.checked_sub(1).map(|p| lines[p].trim()) {
            Some(marker) if marker.starts_with(MARKER_START) => {
                parse_marker(marker).map_err(|e| format!("README.md line {fence}: {e}"))?
            }
            _ => Mode::Run,
        };
        blocks.push(Block {
            line: fence + 1,
            mode,
            body,
        });
    }
    Ok(blocks)
}

fn is_shell_fence(line: &str) -> bool {
    line.strip_prefix("```")
        .is_some_and(|info| matches!(info.trim(), "sh" | "bash"))
}

fn parse_marker(marker: &str) -> Result<Mode, String> {
    let inner = marker
        .strip_prefix(MARKER_START)
        .and_then(|m| m.strip_suffix("-->"))
        .ok_or("a readme-test marker is `<!-- readme-test: … -->` on one line")?
        .trim();
    if inner == "refused" {
        return Ok(Mode::Refused);
    }
    match inner.strip_prefix("skip:") {
        Some(reason) if !reason.trim().is_empty() => Ok(Mode::Skip(reason.trim().to_owned())),
        _ => Err(format!(
            "unknown readme-test marker `{inner}`: `refused` or `skip: REASON`"
        )),
    }
}

/// The block as this test's terminal runs it: the server's address, and the placeholders a
/// reader fills in by hand filled with `values`.
fn fill(block: &Block, base: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::new();
    for (n, line) in block.body.replace(README_BASE, base).lines().enumerate() {
        let placeholder = line.split_once("=...").filter(|(name, rest)| {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && (rest.is_empty() || rest.starts_with(char::is_whitespace))
        });
        match placeholder {
            Some((name, rest)) => {
                let (_, value) = values.iter().find(|(n, _)| *n == name).ok_or_else(|| {
                    format!(
                        "README.md line {}: placeholder {name}=... has no value in this test",
                        block.line + 1 + n
                    )
                })?;
                out.push_str(&format!("{name}='{value}'{rest}\n"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// One bash script: every block in order, each announced on stderr so a failure names its line.
fn script(blocks: &[Block], base: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let mut s = String::from(
        "set -euo pipefail\n\
         # A reader sees an error answer; here it must fail the run.\n\
         curl() { command curl --fail-with-body \"$@\"; }\n",
    );
    for block in blocks {
        let line = block.line;
        let body = fill(block, base, values)?;
        match &block.mode {
            Mode::Skip(_) => {}
            Mode::Run => s.push_str(&format!(
                "echo '>>> README.md line {line}' >&2\n{body}echo '<<< README.md line {line}: ok' >&2\n"
            )),
            // `set -e` does not apply inside a condition, so the subshell's status is read
            // with errexit off around it.
            Mode::Refused => s.push_str(&format!(
                "echo '>>> README.md line {line} (refused, as the README says)' >&2\n\
                 set +e\n(\nset -e\n{body})\nrefused=$?\nset -e\n\
                 if [ \"$refused\" -eq 0 ]; then echo '!!! README.md line {line}: the README \
                 shows a refusal, but every command succeeded' >&2; exit 1; fi\n\
                 echo '<<< README.md line {line}: refused' >&2\n"
            )),
        }
    }
    s.push_str("echo '<<< README.md: every block ran' >&2\n");
    Ok(s)
}

/// The tools the blocks use, or what is missing.
fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    for tool in ["bash", "curl", "openssl", "jq", "git"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            missing.push(tool.to_owned());
        }
    }
    let python = Command::new("python3")
        .args(["-c", "import jwt, cryptography, authlib, requests"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !python {
        missing.push("python3 with pyjwt[crypto], authlib and requests".into());
    }
    missing
}

/// `signet serve` with no configuration but the listen address, in `dir`; killed on drop.
struct Server {
    process: ServeProcess,
    base: String,
    bootstrap_id: String,
    bootstrap_secret: String,
}

impl Server {
    fn start(dir: &Path) -> Self {
        let mut process = ServeProcess::spawn(|command| {
            for (name, _) in std::env::vars_os() {
                if name.to_string_lossy().starts_with("SIGNET_") {
                    command.env_remove(name);
                }
            }
            command
                .current_dir(dir)
                .env("SIGNET_LISTEN", "127.0.0.1:0")
                .env("SIGNET_LOG_FORMAT", "json")
                .env("RUST_LOG", "info")
        });
        // The two lines the README tells the reader to note, printed before the server listens.
        let (mut id, mut secret) = (None, None);
        let base = process.wait_for_line(|line| {
            let line = line.trim();
            if let Some(v) = line.strip_prefix("client_id:") {
                id = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("client_secret:") {
                secret = Some(v.trim().to_owned());
            } else if let Ok(event) = serde_json::from_str::<Value>(line)
                && event["message"] == "signet is listening"
            {
                return Some(format!("http://{}", event["address"].as_str()?));
            }
            None
        });
        let printed = process.printed().join("\n");
        let bootstrap_id = id.unwrap_or_else(|| panic!("no client_id printed:\n{printed}"));
        let bootstrap_secret =
            secret.unwrap_or_else(|| panic!("no client_secret printed:\n{printed}"));
        Self {
            process,
            base,
            bootstrap_id,
            bootstrap_secret,
        }
    }
}

/// `cargo run --release -- ARGS` and `signet ARGS` as the README uses them, on the binary under
/// test; any other cargo command fails loudly rather than building.
fn write_shims(bin: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(bin).unwrap();
    let shims = [
        (
            "cargo",
            format!(
                "#!/bin/sh\n\
                 if [ \"$1\" = run ] && [ \"$2\" = --release ] && [ \"$3\" = -- ]; then\n\
                 \x20 shift 3\n\
                 \x20 exec '{SIGNET}' \"$@\"\n\
                 fi\n\
                 echo \"README test: only 'cargo run --release -- …' runs here, not: cargo $*\" >&2\n\
                 exit 127\n"
            ),
        ),
        ("signet", format!("#!/bin/sh\nexec '{SIGNET}' \"$@\"\n")),
    ];
    for (name, text) in shims {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Files under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The paths of `files` that the checkout's `.gitignore` does not ignore.
fn not_ignored(files: &[PathBuf]) -> Vec<PathBuf> {
    let out = Command::new("git")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(["check-ignore", "--no-index", "--"])
        .args(files)
        .output()
        .expect("run git check-ignore");
    // 0: some are ignored, 1: none is; anything else is an error.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "git check-ignore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ignored: BTreeSet<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect();
    files
        .iter()
        .filter(|f| !ignored.contains(*f))
        .cloned()
        .collect()
}

/// Runs bash on `script_path` in `work`, output to `log_path`; the exit status, or `None` on
/// a timeout.
fn run_bash(script_path: &Path, work: &Path, bin: &Path, log_path: &Path) -> Option<i32> {
    let log = File::create(log_path).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    // A group of its own, so that a timeout ends what the blocks started too (a server left
    // in the foreground would otherwise outlive the test).
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SIGNET_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .arg(script_path)
        .current_dir(work)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("run bash");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status.code().unwrap_or(-1));
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The block that was running when the script stopped: the last one announced and not
/// finished.
fn failed_block<'a>(output: &str, blocks: &'a [Block]) -> Option<&'a Block> {
    let mut current = None;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix(">>> README.md line ") {
            current = rest.split_whitespace().next()?.parse::<usize>().ok();
        } else if line.starts_with("<<< ") {
            current = None;
        }
    }
    let line = current?;
    blocks.iter().find(|b| b.line == line)
}

#[test]
fn readme_shell_blocks_run_in_order_against_a_fresh_server() {
    let started = Instant::now();
    let blocks = shell_blocks(README).unwrap_or_else(|e| panic!("{e}"));
    let missing = missing_tools();
    if !missing.is_empty() {
        assert!(
            !in_ci(),
            "the README test needs {} under CI=true",
            missing.join(", ")
        );
        eprintln!(
            "SKIPPED: README blocks (missing: {}; pip install 'pyjwt[crypto]' authlib requests)",
            missing.join(", ")
        );
        return;
    }

    let tmp = tempfile::tempdir().unwrap();
    let (work, bin) = (tmp.path().join("work"), tmp.path().join("bin"));
    std::fs::create_dir_all(&work).unwrap();
    write_shims(&bin);
    let mut server = Server::start(&work);
    let values = [
        ("BOOTSTRAP_ID", server.bootstrap_id.as_str()),
        ("BOOTSTRAP_SECRET", server.bootstrap_secret.as_str()),
    ];
    let text = script(&blocks, &server.base, &values).unwrap_or_else(|e| panic!("{e}"));
    let script_path = tmp.path().join("readme.sh");
    std::fs::write(&script_path, &text).unwrap();
    let log_path = tmp.path().join("readme.log");

    let status = run_bash(&script_path, &work, &bin, &log_path);
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    if status != Some(0) {
        let tail: Vec<&str> = output.lines().rev().take(60).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let block = failed_block(&output, &blocks);
        let server_tail: Vec<&String> = server.process.printed().iter().rev().take(20).collect();
        panic!(
            "the README, followed literally, fails {}\n--- block ---\n{}--- output (last \
             lines) ---\n{}\n--- server log (last lines, newest first) ---\n{:#?}",
            match (status, block) {
                (None, _) => format!("(no end after {RUN_TIMEOUT:?})"),
                (_, Some(b)) => format!("at README.md line {}", b.line),
                (_, None) => "outside any block".to_owned(),
            },
            block.map(|b| b.body.as_str()).unwrap_or(""),
            tail.join("\n"),
            server_tail
        );
    }

    // The refused `--scope write:reports` example: the server says the scope is missing from
    // the grant, and the hint must say so too, not that there is no grant.
    assert!(
        output.contains("hint: the application's client grant for \"https://reports.example.com/\" does not hold the scope(s) write:reports"),
        "the refused token request's hint:\n{output}"
    );

    let written = files_under(&work);
    let left_in_git = not_ignored(&written);
    assert!(
        left_in_git.is_empty(),
        "files the README's commands write into the working directory that .gitignore does \
         not ignore: {left_in_git:?}"
    );

    let skipped: Vec<String> = blocks
        .iter()
        .filter_map(|b| match &b.mode {
            Mode::Skip(why) => Some(format!("line {} ({why})", b.line)),
            _ => None,
        })
        .collect();
    eprintln!(
        "README: {} shell blocks ran in {:.1} s ({} refused as expected); not run: {}",
        blocks.len() - skipped.len(),
        started.elapsed().as_secs_f64(),
        blocks.iter().filter(|b| b.mode == Mode::Refused).count(),
        skipped.join("; ")
    );
}

#[test]
fn only_marked_or_shell_blocks_are_read_and_marks_must_be_well_formed() {
    let md = "text\n```sh\necho one\n```\n```\noutput\n```\n```rust\nfn x() {}\n```\n\
              <!-- readme-test: skip: a server in the foreground -->\n```bash\nserve\n```\n\
              <!-- readme-test: refused -->\n```sh\nfalse\n```\n";
    let blocks = shell_blocks(md).unwrap();
    assert_eq!(
        blocks,
        vec![
            Block {
                line: 2,
                mode: Mode::Run,
                body: "echo one\n".into()
            },
            Block {
                line: 12,
                mode: Mode::Skip("a server in the foreground".into()),
                body: "serve\n".into()
            },
            Block {
                line: 16,
                mode: Mode::Refused,
                body: "false\n".into()
            },
        ]
    );
    assert!(shell_blocks("<!-- readme-test: skip: why -->\n\n```sh\nx\n```\n").is_err());
    assert!(shell_blocks("<!-- readme-test: skip: why -->\n```rust\nx\n```\n").is_err());
    assert!(shell_blocks("<!-- readme-test: skip: -->\n```sh\nx\n```\n").is_err());
    assert!(shell_blocks("<!-- readme-test: maybe -->\n```sh\nx\n```\n").is_err());
    assert!(shell_blocks("```sh\nnever closed\n").is_err());
}

#[test]
fn placeholders_are_filled_and_an_unknown_one_is_an_error() {
    let block = Block {
        line: 10,
        mode: Mode::Run,
        body: "S=http://127.0.0.1:8080\nBOOTSTRAP_ID=...        # from the server\n\
               echo \"a=...b\"\n"
            .into(),
    };
    let filled = fill(&block, "http://127.0.0.1:4242", &[("BOOTSTRAP_ID", "abc")]).unwrap();
    assert_eq!(
        filled,
        "S=http://127.0.0.1:4242\nBOOTSTRAP_ID='abc'        # from the server\necho \"a=...b\"\n"
    );
    let error = fill(&block, "http://x", &[]).unwrap_err();
    assert!(
        error.contains("line 12") && error.contains("BOOTSTRAP_ID"),
        "{error}"
    );
}
