//! `signet serve` as a child process of a test: what it prints, stdout and stderr alike, read
//! line by line as it comes (the readers never stop, so the server never blocks on a full pipe);
//! killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

/// How long a test waits for a line it expects: a start under CI load takes seconds.
const LINE_WAIT: Duration = Duration::from_secs(60);

pub struct ServeProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line read so far, for the messages of failed waits.
    printed: Vec<String>,
}

impl ServeProcess {
    /// `signet serve` with the arguments and environment `configure` gives it.
    pub fn spawn(configure: impl FnOnce(&mut Command) -> &mut Command) -> Self {
        let mut command = Command::new(SIGNET);
        command.arg("serve");
        let mut child = configure(&mut command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start signet serve");
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Self {
            child,
            lines,
            printed: Vec::new(),
        }
    }

    /// The first `Some` that `wanted` makes of the lines still to come; panics with what was
    /// printed when none comes within a minute.
    pub fn wait_for_line<T>(&mut self, mut wanted: impl FnMut(&str) -> Option<T>) -> T {
        loop {
            match self.lines.recv_timeout(LINE_WAIT) {
                Ok(line) => {
                    let found = wanted(&line);
                    self.printed.push(line);
                    if let Some(found) = found {
                        return found;
                    }
                }
                Err(e) => panic!(
                    "the awaited line did not come ({e}); printed:\n{}",
                    self.printed.join("\n")
                ),
            }
        }
    }

    /// The next JSON log event that `wanted` accepts.
    pub fn wait_for_event(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_line(|line| {
            serde_json::from_str::<Value>(line)
                .ok()
                .filter(|event| wanted(event))
        })
    }

    /// `scheme://address` of the address the server says it listens on.
    pub fn listening(&mut self, scheme: &str) -> String {
        let event = self.wait_for_event(|e| e["message"] == "signet is listening");
        format!("{scheme}://{}", event["address"].as_str().unwrap())
    }

    /// Every line printed so far, the ones no wait has read among them.
    pub fn printed(&mut self) -> &[String] {
        self.printed.extend(self.lines.try_iter());
        &self.printed
    }

    /// Sends `which` (`-TERM`, `-HUP`) through `kill(1)`, to the server only.
    pub fn signal(&self, which: &str) {
        let status = Command::new("kill")
            .arg(which)
            .arg(self.child.id().to_string())
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill {which} {}", self.child.id());
    }

    /// Waits for the server to exit by itself (after [`Self::signal`]) and for the end of what
    /// it printed; panics unless it exits, with success, within a minute.
    pub fn wait_for_exit(&mut self) -> &[String] {
        let deadline = std::time::Instant::now() + LINE_WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not exit within {LINE_WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // The readers end with the pipes, which close when the server has exited.
        self.printed.extend(self.lines.iter());
        assert!(status.success(), "the server exited with {status}");
        &self.printed
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
