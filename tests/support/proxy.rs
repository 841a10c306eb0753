//! A TCP proxy on 127.0.0.1 between kube-verdict and an API server, to make the link faults a
//! real network has: a cut (every connection reset, new ones refused) and a black hole
//! (connections stay open, no byte passes). Threads only; stopped when dropped.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

/// What the link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Bytes pass both ways.
    Up = 0,
    /// Every open connection is reset and new ones are closed at once.
    Cut = 1,
    /// Connections are accepted and kept, but no byte passes either way.
    BlackHole = 2,
}

impl Proxy {
    /// Heals the link for new connections only: the connections opened before stay a black
    /// hole for ever (a NAT or load balancer that dropped their state), so a client must notice
    /// and reconnect.
    pub fn heal_new_connections_only(&self) {
        let dead_before = self.shared.next_conn.load(Ordering::SeqCst);
        self.shared.dead_before.store(dead_before, Ordering::SeqCst);
        self.shared.link.store(Link::Up as u8, Ordering::SeqCst);
    }
}

struct Shared {
    link: AtomicU8,
    /// Bumped on a cut: pumps of older connections close their sockets.
    generation: AtomicU64,
    stop: AtomicBool,
    /// Connections are numbered; those numbered below `dead_before` never pass a byte again.
    next_conn: AtomicU64,
    dead_before: AtomicU64,
}

/// The proxy; `addr` is where clients connect.
pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            link: AtomicU8::new(Link::Up as u8),
            generation: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            next_conn: AtomicU64::new(0),
            dead_before: AtomicU64::new(0),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            while !s.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => accept(client, upstream, s.clone()),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Proxy { addr, shared }
    }

    /// Sets the link's state.
    pub fn set(&self, link: Link) {
        if link == Link::Cut {
            self.shared.generation.fetch_add(1, Ordering::SeqCst);
        }
        self.shared.link.store(link as u8, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
    }
}

fn link(s: &Shared) -> u8 {
    s.link.load(Ordering::SeqCst)
}

fn accept(client: TcpStream, upstream: SocketAddr, s: Arc<Shared>) {
    let _ = client.set_nonblocking(false);
    if link(&s) == Link::Cut as u8 {
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let generation = s.generation.load(Ordering::SeqCst);
    let conn = s.next_conn.fetch_add(1, Ordering::SeqCst);
    std::thread::spawn(move || {
        // A connection opened into a black hole never reaches the server.
        while link(&s) == Link::BlackHole as u8 && !gone(&s, generation) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if gone(&s, generation) {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        let Ok(server) = TcpStream::connect(upstream) else {
            let _ = client.shutdown(Shutdown::Both);
            return;
        };
        let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let sh = s.clone();
        std::thread::spawn(move || pump(c2, s2, sh, generation, conn));
        pump(server, client, s, generation, conn);
    });
}

fn gone(s: &Shared, generation: u64) -> bool {
    s.stop.load(Ordering::SeqCst) || s.generation.load(Ordering::SeqCst) != generation
}

/// Copies `from` → `to` while the link is up; in a black hole reads and drops nothing (bytes
/// wait in the kernel); on a cut closes both.
fn pump(mut from: TcpStream, mut to: TcpStream, s: Arc<Shared>, generation: u64, conn: u64) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 16 * 1024];
    loop {
        if gone(&s, generation) {
            break;
        }
        if link(&s) == Link::BlackHole as u8 || conn < s.dead_before.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
