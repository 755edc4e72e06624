//! `deploy/signet.service`, the unit `docs/DEPLOYMENT.md` builds on: systemd accepts every line
//! of it, and every `SIGNET_*` variable it sets is one `signet serve` reads.

use std::path::Path;
use std::process::Command;

const SIGNET: &str = env!("CARGO_BIN_EXE_signet");
const UNIT: &str = include_str!("../../deploy/signet.service");

#[test]
fn the_unit_file_passes_systemd_analyze_verify() {
    let found = Command::new("systemd-analyze").arg("--version").output();
    if !found.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "SKIPPED: systemd-analyze is not installed; deploy/signet.service is not verified"
        );
        return;
    }
    // The unit as installed, with the binary this build made in place of /usr/local/bin: verify
    // checks that ExecStart can run.
    assert!(UNIT.contains("ExecStart=/usr/local/bin/signet serve"));
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("signet.service");
    std::fs::write(&unit, UNIT.replace("/usr/local/bin/signet", SIGNET)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let complaints = String::from_utf8_lossy(&out.stderr);
    // An unknown key or a bad value is only a warning to systemd, and a warning here is a
    // mistake in the unit.
    assert!(
        out.status.success() && complaints.trim().is_empty(),
        "systemd-analyze verify {}:\n{complaints}",
        unit.display()
    );
}

#[test]
fn every_variable_the_unit_sets_is_a_setting() {
    let help = Command::new(SIGNET)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let set: Vec<&str> = UNIT
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .map(|assignment| assignment.split('=').next().unwrap())
        .collect();
    assert!(set.len() >= 5, "{set:?}");
    for name in set {
        assert!(
            help.contains(&format!("env: {name}=")) || help.contains(&format!("env: {name}]")),
            "{name} is not a variable of `signet serve`"
        );
    }
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/DEPLOYMENT.md")
            .is_file()
    );
}
