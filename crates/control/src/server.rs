//! The control socket: rvsd's side of the protocol in [`crate::protocol`].
//!
//! One thread accepts; each client gets a thread that reads request lines and answers them in
//! order through a [`Handler`]. Only the socket's owner and root may talk to it: the file mode
//! (0600 by default) keeps others from connecting, and the peer's credentials (`SO_PEERCRED`)
//! are checked on every connection as well, so a looser mode does not open the table to other
//! users.

use std::fs;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use rvs_config::ServiceKey;

use crate::protocol::{
    decode_request, ConnEntry, ControlError, Request, Response, ResponseLine, Table, Timeouts,
    MAX_REQUEST_LINE,
};

/// How often the accept loop and idle client threads look at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// How long a client may take to write a request once it started one; longer and the
/// connection is closed. Idle connections between requests are kept.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What rvsd does for each request. Called from the client threads, concurrently: the
/// implementation serializes changes itself (rvsd's control thread owns the table).
pub trait Handler: Send + Sync {
    /// `Request::Apply`: parse `args` with `rvs_config::ipvsadm::parse_args` and carry the
    /// command out (see [`crate::apply_args`]); the error is ipvsadm's for the same failure.
    fn apply(&self, args: &[String]) -> Result<(), ControlError>;
    /// `Request::Reload`: re-read and validate the configuration file, then switch to it.
    fn reload(&self) -> Result<(), ControlError>;
    /// `Request::Table`: services and real servers with counters and rates.
    fn table(&self) -> Table;
    /// `Request::Connections`: every connection entry of every worker.
    fn connections(&self) -> Vec<ConnEntry>;
    /// `Request::Timeouts`.
    fn timeouts(&self) -> Timeouts;
    /// `Request::Zero`: zero the counters of one service or of all; "No such service" when it
    /// does not exist.
    fn zero(&self, svc: Option<ServiceKey>) -> Result<(), ControlError>;
    /// `Request::SaveToml`: the running table as TOML (`rvs_config::to_toml`).
    fn save_toml(&self) -> String;
}

/// Answers one request through the handler.
pub fn dispatch(handler: &dyn Handler, request: Request) -> Result<Response, ControlError> {
    match request {
        Request::Apply { args } => handler.apply(&args).map(|()| Response::Done),
        Request::Reload => handler.reload().map(|()| Response::Done),
        Request::Table => Ok(Response::Table(handler.table())),
        Request::Connections => Ok(Response::Connections(handler.connections())),
        Request::Timeouts => Ok(Response::Timeouts(handler.timeouts())),
        Request::Zero { service } => handler.zero(service).map(|()| Response::Done),
        Request::SaveToml => Ok(Response::Toml(handler.save_toml())),
    }
}

/// Creates the control socket at `path` with permission bits `mode` (rvs_config's default is
/// 0o600) and serves it until `stop` is set; the returned thread has then closed every
/// connection and removed the socket file.
///
/// A socket file left by a previous rvsd is removed; a live one (something accepts on it) is
/// not, and neither is a file that is not a socket: both are `AddrInUse` errors.
pub fn serve(
    path: &Path,
    mode: u32,
    handler: Arc<dyn Handler>,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    remove_stale(path)?;
    let listener = UnixListener::bind(path)?;
    // Between bind and chmod the socket has the umask's bits; the peer check below covers
    // that window.
    fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777))?;
    let meta = fs::metadata(path)?;
    let owner = meta.uid();
    let inode = (meta.dev(), meta.ino());
    listener.set_nonblocking(true)?;
    let path = path.to_path_buf();
    thread::Builder::new()
        .name("rvs-control".into())
        .spawn(move || accept_loop(listener, path, inode, owner, handler, stop))
}

fn remove_stale(path: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            ErrorKind::AddrInUse,
            format!(
                "{} exists and is not a socket; not removing it",
                path.display()
            ),
        ));
    }
    if UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            ErrorKind::AddrInUse,
            format!("{} is in use (is another rvsd running?)", path.display()),
        ));
    }
    fs::remove_file(path)
}

fn accept_loop(
    listener: UnixListener,
    path: PathBuf,
    inode: (u64, u64),
    owner: u32,
    handler: Arc<dyn Handler>,
    stop: Arc<AtomicBool>,
) {
    let mut clients: Vec<JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                clients.retain(|c| !c.is_finished());
                let (handler, stop) = (handler.clone(), stop.clone());
                let spawned = thread::Builder::new()
                    .name("rvs-control-client".into())
                    .spawn(move || client(stream, owner, &*handler, &stop));
                match spawned {
                    Ok(c) => clients.push(c),
                    Err(e) => tracing::warn!("control socket: cannot start a client thread: {e}"),
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!("control socket: accept failed: {e}");
                thread::sleep(POLL);
            }
        }
    }
    for c in clients {
        let _ = c.join();
    }
    // Remove the socket only if it is still ours (a new rvsd may have replaced it).
    if let Ok(m) = fs::symlink_metadata(&path) {
        if (m.dev(), m.ino()) == inode {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Whether a peer with `uid` may use a socket owned by `owner`.
fn allowed(uid: u32, owner: u32) -> bool {
    uid == owner || uid == 0
}

fn client(stream: UnixStream, owner: u32, handler: &dyn Handler, stop: &AtomicBool) {
    let mut out = match stream.try_clone() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("control socket: {e}");
            return;
        }
    };
    let uid = match getsockopt(&stream, PeerCredentials) {
        Ok(c) => c.uid(),
        Err(e) => {
            tracing::warn!("control socket: cannot read the peer's credentials: {e}");
            return;
        }
    };
    if !allowed(uid, owner) {
        tracing::warn!("control socket: refused uid {uid}");
        let refusal = ControlError::protocol(format!(
            "Permission denied: uid {uid} is neither the owner of rvsd's socket (uid {owner}) \
             nor root"
        ));
        // Answer the first request, if it comes soon, with its id; else id 0.
        let mut first = Vec::new();
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let _ = BufReader::new(&stream)
            .take(MAX_REQUEST_LINE as u64)
            .read_until(b'\n', &mut first);
        let id = decode_request(first.trim_ascii_end()).map_or_else(|(id, _)| id, |r| r.id);
        let _ = out.write_all(ResponseLine::new(id, Err(refusal)).encode().as_bytes());
        return;
    }
    if stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let _ = out.set_write_timeout(Some(REQUEST_TIMEOUT));
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let mut waited = Duration::ZERO;
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let before = line.len();
        match (&mut reader)
            .take((MAX_REQUEST_LINE + 1).saturating_sub(line.len()) as u64)
            .read_until(b'\n', &mut line)
        {
            Ok(0) if line.len() == before => return, // end of stream (or of the allowance)
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                // A partial line stays in `line`; an idle connection may wait forever, a
                // started request only REQUEST_TIMEOUT.
                if !line.is_empty() {
                    waited += POLL;
                    if waited >= REQUEST_TIMEOUT {
                        return;
                    }
                }
                continue;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
        if line.last() != Some(&b'\n') {
            if line.len() > MAX_REQUEST_LINE {
                let e = ControlError::protocol(format!(
                    "bad request: longer than {MAX_REQUEST_LINE} bytes"
                ));
                let _ = out.write_all(ResponseLine::new(0, Err(e)).encode().as_bytes());
                return;
            }
            continue;
        }
        waited = Duration::ZERO;
        let answer = answer_line(handler, &line);
        line.clear();
        if out.write_all(answer.encode().as_bytes()).is_err() {
            return;
        }
    }
}

/// The response to one request line (with or without its newline).
pub fn answer_line(handler: &dyn Handler, line: &[u8]) -> ResponseLine {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match decode_request(line) {
        Ok(req) => ResponseLine::new(req.id, dispatch(handler, req.request)),
        Err((id, e)) => ResponseLine::new(id, Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Client, ClientError};
    use std::sync::Mutex;

    /// A handler recording what it was asked.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
    }

    impl Handler for Recorder {
        fn apply(&self, args: &[String]) -> Result<(), ControlError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("apply {}", args.join(" ")));
            if args.first().map(String::as_str) == Some("-D") {
                return Err(ControlError::new("No such service"));
            }
            Ok(())
        }
        fn reload(&self) -> Result<(), ControlError> {
            self.calls.lock().unwrap().push("reload".into());
            Ok(())
        }
        fn table(&self) -> Table {
            Table::default()
        }
        fn connections(&self) -> Vec<ConnEntry> {
            Vec::new()
        }
        fn timeouts(&self) -> Timeouts {
            Timeouts {
                tcp: 1,
                tcpfin: 2,
                udp: 3,
            }
        }
        fn zero(&self, svc: Option<ServiceKey>) -> Result<(), ControlError> {
            self.calls.lock().unwrap().push(format!(
                "zero {}",
                svc.map_or("all".into(), |k| k.to_string())
            ));
            Ok(())
        }
        fn save_toml(&self) -> String {
            "workers = 1\n".into()
        }
    }

    fn temp_socket(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rvs-control-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir.join("rvsd.sock")
    }

    #[test]
    fn serves_requests_in_order_and_stops() {
        let path = temp_socket("order");
        let rec = Arc::new(Recorder::default());
        let stop = Arc::new(AtomicBool::new(false));
        let server = serve(&path, 0o600, rec.clone(), stop.clone()).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let mut c = Client::connect(&path).unwrap();
        assert_eq!(
            c.call(Request::Apply {
                args: vec!["-C".into()]
            })
            .unwrap(),
            Response::Done
        );
        match c.call(Request::Apply {
            args: vec!["-D".into()],
        }) {
            Err(ClientError::Refused(e)) => assert_eq!(e, ControlError::new("No such service")),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.call(Request::Reload).unwrap(), Response::Done);
        assert_eq!(
            c.call(Request::Timeouts).unwrap(),
            Response::Timeouts(Timeouts {
                tcp: 1,
                tcpfin: 2,
                udp: 3
            })
        );
        assert_eq!(
            c.call(Request::Zero { service: None }).unwrap(),
            Response::Done
        );
        assert_eq!(
            c.call(Request::SaveToml).unwrap(),
            Response::Toml("workers = 1\n".into())
        );
        assert_eq!(
            c.call(Request::Table).unwrap(),
            Response::Table(Table::default())
        );
        assert_eq!(
            c.call(Request::Connections).unwrap(),
            Response::Connections(vec![])
        );
        assert_eq!(
            *rec.calls.lock().unwrap(),
            ["apply -C", "apply -D", "reload", "zero all"]
        );

        // A second client at the same time.
        let mut c2 = Client::connect(&path).unwrap();
        assert_eq!(c2.call(Request::Reload).unwrap(), Response::Done);

        stop.store(true, Ordering::Relaxed);
        server.join().unwrap();
        assert!(!path.exists(), "socket removed on stop");
        assert!(Client::connect(&path).is_err());
    }

    #[test]
    fn raw_lines_get_version_and_parse_errors() {
        let path = temp_socket("raw");
        let stop = Arc::new(AtomicBool::new(false));
        let server = serve(&path, 0o600, Arc::new(Recorder::default()), stop.clone()).unwrap();
        let mut s = UnixStream::connect(&path).unwrap();
        s.write_all(b"{\"version\":2,\"id\":4,\"request\":\"table\"}\n{\"version\":1,\"id\":5,\"request\":\"reload\"}\r\ngarbage\n")
            .unwrap();
        let mut r = BufReader::new(s);
        let mut lines = Vec::new();
        for _ in 0..3 {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            lines.push(l);
        }
        assert_eq!(
            lines[0],
            "{\"version\":1,\"id\":4,\"error\":{\"message\":\"unsupported protocol version 2: this rvsd speaks version 1; use an rvsadm of the same release\",\"exit_code\":2}}\n"
        );
        assert_eq!(lines[1], "{\"version\":1,\"id\":5,\"ok\":\"done\"}\n");
        assert!(
            lines[2].starts_with("{\"version\":1,\"id\":0,\"error\":{\"message\":\"bad request: ")
        );
        stop.store(true, Ordering::Relaxed);
        server.join().unwrap();
    }

    #[test]
    fn stale_socket_is_replaced_but_live_socket_and_files_are_not() {
        let path = temp_socket("stale");
        // A stale socket: bound, then its listener dropped.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let stop = Arc::new(AtomicBool::new(false));
        let server = serve(&path, 0o660, Arc::new(Recorder::default()), stop.clone()).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o660
        );
        // Live: a second server on the same path is refused.
        let e = serve(&path, 0o600, Arc::new(Recorder::default()), stop.clone()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse);
        stop.store(true, Ordering::Relaxed);
        server.join().unwrap();

        fs::write(&path, "not a socket").unwrap();
        let e = serve(&path, 0o600, Arc::new(Recorder::default()), stop).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse);
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a socket");
    }

    #[test]
    fn only_the_owner_and_root_are_allowed() {
        assert!(allowed(1000, 1000));
        assert!(allowed(0, 1000));
        assert!(!allowed(1001, 1000));
        assert!(allowed(0, 0));
        assert!(!allowed(1000, 0));
    }

    #[test]
    fn a_request_line_that_is_too_long_is_refused() {
        let path = temp_socket("long");
        let stop = Arc::new(AtomicBool::new(false));
        let server = serve(&path, 0o600, Arc::new(Recorder::default()), stop.clone()).unwrap();
        let mut s = UnixStream::connect(&path).unwrap();
        let big = vec![b'x'; MAX_REQUEST_LINE + 10];
        // The server may close before reading everything; ignore the write error then.
        let _ = s.write_all(&big);
        let mut l = String::new();
        BufReader::new(s).read_line(&mut l).unwrap();
        assert!(l.contains("longer than 1048576 bytes"), "{l}");
        stop.store(true, Ordering::Relaxed);
        server.join().unwrap();
    }
}
