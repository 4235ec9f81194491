//! rvsadm's side of the protocol: one connection, requests answered in order.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::protocol::{
    decode_response, ControlError, Request, RequestLine, Response, MAX_RESPONSE_LINE,
};

/// How long [`Client::call`] waits for rvsd by default, per read or write. A reload validates a
/// whole configuration and a connection list can be long; 30 s covers both.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// rvsd's socket could not be reached.
    #[error("cannot connect to rvsd at {}: {source}", path.display())]
    Connect {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// rvsd did not answer in time.
    #[error("rvsd did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed while talking.
    #[error("control socket: {0}")]
    Io(#[from] io::Error),
    /// rvsd answered something this client does not understand.
    #[error("{0}")]
    Protocol(String),
    /// rvsd refused the request; the message and exit status are ipvsadm's.
    #[error("{0}")]
    Refused(ControlError),
}

impl ClientError {
    /// The exit status rvsadm uses: the refusal's own, else 2 (ipvsadm's `fail(2, "Can't
    /// initialize ipvs: …")` when it cannot reach IPVS).
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Refused(e) => e.exit_code,
            _ => crate::protocol::EXIT_PROTOCOL,
        }
    }
}

/// A connection to rvsd's control socket.
pub struct Client {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    next_id: u64,
    timeout: Duration,
}

impl Client {
    /// Connects to the socket at `path` with [`DEFAULT_TIMEOUT`].
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let connect_err = |source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        };
        let stream = UnixStream::connect(path).map_err(connect_err)?;
        let reader = BufReader::new(stream.try_clone().map_err(connect_err)?);
        let mut c = Client {
            writer: stream,
            reader,
            next_id: 1,
            timeout: DEFAULT_TIMEOUT,
        };
        c.set_timeout(DEFAULT_TIMEOUT)?;
        Ok(c)
    }

    /// Sets how long a call may wait for each read and write.
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), ClientError> {
        // A zero duration means "no timeout" to the socket, and is refused by it; keep 1 ms.
        let t = Some(timeout.max(Duration::from_millis(1)));
        self.writer.set_write_timeout(t)?;
        self.writer.set_read_timeout(t)?;
        self.timeout = timeout;
        Ok(())
    }

    /// Sends `request` and waits for its answer. A refusal is [`ClientError::Refused`].
    pub fn call(&mut self, request: Request) -> Result<Response, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let line = RequestLine::new(id, request).encode();
        let mut buf = Vec::new();
        if let Err(e) = self.writer.write_all(line.as_bytes()) {
            // rvsd may have refused this peer and closed: its refusal is waiting to be read.
            let read = (&mut self.reader)
                .take(MAX_RESPONSE_LINE as u64)
                .read_until(b'\n', &mut buf);
            if let (Ok(_), Ok(resp)) = (read, decode_response(&buf)) {
                if let Some(refusal) = resp.error {
                    return Err(ClientError::Refused(refusal));
                }
            }
            return Err(self.io_error(e));
        }
        let read = (&mut self.reader)
            .take(MAX_RESPONSE_LINE as u64)
            .read_until(b'\n', &mut buf);
        let n = read.map_err(|e| self.io_error(e))?;
        if n == 0 {
            return Err(ClientError::Protocol(
                "rvsd closed the connection without answering".into(),
            ));
        }
        if buf.last() != Some(&b'\n') {
            return Err(ClientError::Protocol(
                "rvsd's answer was cut short or too long".into(),
            ));
        }
        let resp = decode_response(&buf).map_err(ClientError::Protocol)?;
        // id 0: an error about the connection itself (a refused peer), sent before any request.
        if resp.id != id && !(resp.id == 0 && resp.error.is_some()) {
            return Err(ClientError::Protocol(format!(
                "rvsd answered request {} to request {id}",
                resp.id
            )));
        }
        resp.into_result().map_err(ClientError::Refused)
    }

    fn io_error(&self, e: io::Error) -> ClientError {
        match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => ClientError::Timeout(self.timeout),
            _ => ClientError::Io(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::thread;

    fn temp_socket(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rvs-client-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("s.sock")
    }

    #[test]
    fn a_silent_server_times_out() {
        let path = temp_socket("silent");
        let l = UnixListener::bind(&path).unwrap();
        let t = thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            thread::sleep(Duration::from_millis(500));
            drop(s);
        });
        let mut c = Client::connect(&path).unwrap();
        c.set_timeout(Duration::from_millis(100)).unwrap();
        let e = c.call(Request::Table).unwrap_err();
        assert!(matches!(e, ClientError::Timeout(_)), "{e:?}");
        assert_eq!(e.exit_code(), 2);
        t.join().unwrap();
    }

    #[test]
    fn mismatched_ids_closed_connections_and_refused_peers() {
        let path = temp_socket("ids");
        let l = UnixListener::bind(&path).unwrap();
        let t = thread::spawn(move || {
            // 1st connection: answers with the wrong id.
            let (mut s, _) = l.accept().unwrap();
            let mut line = String::new();
            BufReader::new(s.try_clone().unwrap())
                .read_line(&mut line)
                .unwrap();
            s.write_all(b"{\"version\":1,\"id\":99,\"ok\":\"done\"}\n")
                .unwrap();
            // 2nd: closes without answering.
            let (s, _) = l.accept().unwrap();
            drop(s);
            // 3rd: refuses the peer with id 0 before any request.
            let (mut s, _) = l.accept().unwrap();
            s.write_all(b"{\"version\":1,\"id\":0,\"error\":{\"message\":\"Permission denied\",\"exit_code\":2}}\n")
                .unwrap();
        });
        let mut c = Client::connect(&path).unwrap();
        let e = c.call(Request::Reload).unwrap_err();
        assert!(
            e.to_string().contains("answered request 99 to request 1"),
            "{e}"
        );
        let mut c = Client::connect(&path).unwrap();
        assert!(matches!(
            c.call(Request::Reload).unwrap_err(),
            ClientError::Protocol(_) | ClientError::Io(_)
        ));
        let mut c = Client::connect(&path).unwrap();
        match c.call(Request::Reload).unwrap_err() {
            ClientError::Refused(e) => assert_eq!(e.message, "Permission denied"),
            other => panic!("{other:?}"),
        }
        t.join().unwrap();
    }

    #[test]
    fn connecting_to_nothing_names_the_path() {
        let path = temp_socket("none");
        let e = Client::connect(&path).err().unwrap();
        assert!(
            e.to_string().starts_with("cannot connect to rvsd at "),
            "{e}"
        );
        assert!(e.to_string().contains("s.sock"));
        assert_eq!(e.exit_code(), 2);
    }
}
