//! A broker of a test's own (tansu, in memory), for tests that must pause Kafka: the
//! shared broker other tests use is never paused.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// `tansu` from `HOOKGATE_TEST_TANSU`, the `PATH`, or cargo's bin directory.
fn tansu() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("HOOKGATE_TEST_TANSU") {
        return Some(path.into());
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>());
    let cargo_bin = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin"));
    on_path
        .chain(cargo_bin)
        .map(|dir| dir.join("tansu"))
        .find(|candidate| candidate.is_file())
}

/// A running tansu broker on a free loopback port; killed when dropped.
pub struct OwnBroker {
    pub addr: SocketAddr,
    child: Child,
}

impl OwnBroker {
    /// Starts one, or `None` (loudly) when tansu is not installed.
    pub fn start() -> Option<Self> {
        let Some(tansu) = tansu() else {
            eprintln!("\n*** SKIPPING: tansu is not installed (deploy/local/broker.sh installs it; or set HOOKGATE_TEST_TANSU) ***\n");
            return None;
        };
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        let url = format!("tcp://{addr}");
        let child = Command::new(tansu)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tansu");
        let broker = Self { addr, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(broker)
    }

    pub fn brokers(&self) -> String {
        self.addr.to_string()
    }

    /// Freezes the broker (SIGSTOP): connections stay open and nothing is answered,
    /// as with a broker stuck in a long pause.
    pub fn pause(&self) {
        assert!(self.signal("-STOP"), "tansu could not be paused");
    }

    pub fn resume(&self) {
        assert!(self.signal("-CONT"), "tansu could not be resumed");
    }

    fn signal(&self, signal: &str) -> bool {
        Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success())
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        // Continued first, so a paused broker's connections close cleanly.
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
