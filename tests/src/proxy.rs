//! A TCP proxy a test can pause (connections stay open, nothing flows: a hung server) or
//! cut (every connection dropped, new ones closed at once: a server gone), then restore.

use std::net::SocketAddr;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{tcp::OwnedReadHalf, tcp::OwnedWriteHalf, TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    Pause,
    Cut,
}

/// Forwards `addr` to a target until dropped.
pub struct TcpProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    task: JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (mode, _) = watch::channel(Mode::Forward);
        let modes = mode.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *modes.borrow() == Mode::Cut {
                    continue;
                }
                tokio::spawn(relay(client, target, modes.subscribe()));
            }
        });
        Self { addr, mode, task }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    pub fn pause(&self) {
        self.set(Mode::Pause);
    }

    pub fn cut(&self) {
        self.set(Mode::Cut);
    }

    pub fn restore(&self) {
        self.set(Mode::Forward);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.set(Mode::Cut);
        self.task.abort();
    }
}

async fn relay(client: TcpStream, target: SocketAddr, mode: watch::Receiver<Mode>) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // Either direction ending (or a cut) ends both, dropping both sockets.
    tokio::select! {
        () = pump(client_read, server_write, mode.clone()) => {}
        () = pump(server_read, client_write, mode) => {}
    }
}

async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut mode: watch::Receiver<Mode>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if mode
            .wait_for(|m| *m != Mode::Pause)
            .await
            .map_or(true, |m| *m == Mode::Cut)
        {
            return;
        }
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            _ = mode.wait_for(|m| *m == Mode::Cut) => return,
        };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // What arrived while paused is held back until forwarding resumes.
        if mode
            .wait_for(|m| *m != Mode::Pause)
            .await
            .map_or(true, |m| *m == Mode::Cut)
        {
            return;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
