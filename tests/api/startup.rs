//! The binary as an operator meets it: start, bad configuration, a database
//! that cannot be reached, a failed migration, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::postgres_url;

fn masthead() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_masthead"));
    // The test harness's own settings must not leak into the child.
    for (k, _) in std::env::vars() {
        if k.starts_with("MASTHEAD_") {
            c.env_remove(k);
        }
    }
    c.env("MASTHEAD_LOG", "warn");
    c
}

fn database_args(c: &mut Command, dir: &std::path::Path) {
    c.arg("--data").arg(dir);
    if let Some(url) = postgres_url() {
        // A database of its own, so this test's migrations start from nothing.
        let name = format!("masthead_bin_{}", std::process::id());
        let admin = url.clone();
        let _ = Command::new("psql")
            .arg(&admin)
            .arg("-qc")
            .arg(format!("drop database if exists {name}"))
            .status();
        let ok = Command::new("psql")
            .arg(&admin)
            .arg("-qc")
            .arg(format!("create database {name}"))
            .status()
            .unwrap();
        assert!(ok.success(), "cannot create {name}");
        let mut u = url::Url::parse(&url).unwrap();
        u.set_path(&format!("/{name}"));
        c.env("MASTHEAD_DATABASE_URL", u.as_str());
    }
}

#[test]
fn serve_starts_prints_its_address_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = masthead();
    c.args(["serve", "--no-demo", "--listen", "127.0.0.1:0"]);
    database_args(&mut c, dir.path());
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().expect("a line").unwrap();
    assert!(
        line.starts_with("Masthead is serving http://127.0.0.1:"),
        "{line}"
    );
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let body = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        std::io::Write::write_all(
            &mut s,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut s, &mut out).unwrap();
        out
    })
    .join()
    .unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        dir.path().join("secret.key").exists(),
        "a secret key is generated on first start"
    );
}

#[test]
fn an_unreachable_database_is_a_clear_error_that_hides_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = masthead()
        .args(["migrate", "--data"])
        .arg(dir.path())
        .env(
            "MASTHEAD_DATABASE_URL",
            "postgres://reader:hunter2@127.0.0.1:1/news",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open the database postgres://reader:****@127.0.0.1:1/news"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn an_unknown_configuration_key_stops_the_start_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("masthead.toml"),
        "listen = \"127.0.0.1:0\"\npublik_url = \"https://x\"\n",
    )
    .unwrap();
    let out = masthead()
        .args(["migrate", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("publik_url"), "{err}");
    let out = masthead()
        .args(["migrate", "--data"])
        .arg(dir.path())
        .env("MASTHEAD_PUBLIC_URLL", "x")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("MASTHEAD_PUBLIC_URLL"));
}

#[test]
fn a_failed_migration_stops_the_start_with_a_message_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = masthead();
    c.arg("migrate");
    database_args(&mut c, dir.path());
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("is up to date"));
    // Tamper with the record of an applied migration.
    let sql = "update _sqlx_migrations set checksum = checksum || checksum where version = 1";
    match postgres_url() {
        Some(_) => {
            let url = c
                .get_envs()
                .find(|(k, _)| *k == "MASTHEAD_DATABASE_URL")
                .unwrap()
                .1
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let ok = Command::new("psql")
                .arg(&url)
                .arg("-qc")
                .arg(sql)
                .status()
                .unwrap();
            assert!(ok.success());
        }
        None => {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let pool = sqlx::SqlitePool::connect(&format!(
                    "sqlite:{}",
                    dir.path().join("masthead.db").display()
                ))
                .await
                .unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            });
        }
    }
    let out = c.output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a migration of the database") && err.contains("modified"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
