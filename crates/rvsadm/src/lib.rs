//! rvsadm: ipvsadm's command line for rvsd. It parses ipvsadm 1.31's commands and options with
//! `rvs_config::ipvsadm::parse_args`, talks to rvsd over its control socket
//! (`rvs_control::protocol`), and prints what ipvsadm prints for the same table ([`mod@format`],
//! `rvs_config::ipvsadm::save` for `-S`).
//!
//! rvs extensions: `--socket PATH` (default `$RVS_SOCKET`, else `/run/rvsd/rvsd.sock`),
//! `--reload` (re-read rvsd's configuration file), `--toml` (print the running table as TOML),
//! and the FullNAT forwarding method `--fullnat`.

pub mod format;
pub mod names;

use std::io::{Read, Write};
use std::path::PathBuf;

use rvs_config::ipvsadm::{self, Command, IpvsadmError, ListOptions};
use rvs_config::{Config, RealServer, Service};
use rvs_control::client::{Client, ClientError};
use rvs_control::protocol::{ControlError, Request, Response, Table};

use names::NameDb;

/// The streams rvsadm uses.
pub struct Io<'a> {
    pub stdin: &'a mut dyn Read,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

/// Runs rvsadm with `argv` (program name first); `env_socket` is `$RVS_SOCKET`. Returns the
/// exit status: 0, or ipvsadm's status for the same failure (2 for its usage errors and when
/// rvsd cannot be reached, 255 for popt errors and refusals, 1 for a missing service in
/// `-L`).
pub fn run(argv: &[String], env_socket: Option<String>, io: &mut Io) -> i32 {
    let prog = argv.first().map_or("rvsadm", String::as_str).to_string();
    let mut args: Vec<String> = argv.iter().skip(1).cloned().collect();

    let mut socket = env_socket.filter(|s| !s.is_empty()).map_or_else(
        || PathBuf::from(rvs_config::DEFAULT_CONTROL_SOCKET),
        PathBuf::from,
    );
    match take_socket_option(&mut args) {
        Ok(Some(p)) => socket = p,
        Ok(None) => {}
        Err(e) => return fail(io, &prog, &e),
    }
    let mut session = Session {
        path: socket,
        client: None,
    };

    for (ext, request) in [("--reload", Request::Reload), ("--toml", Request::SaveToml)] {
        if args.iter().any(|a| a == ext) {
            if args.len() != 1 {
                let e = IpvsadmError::Usage(format!("{ext} takes no other options"));
                return fail(io, &prog, &e);
            }
            return match session.call(request) {
                Ok(Response::Toml(text)) => {
                    let _ = io.stdout.write_all(text.as_bytes());
                    0
                }
                Ok(_) => 0,
                Err(e) => client_fail(io, &e),
            };
        }
    }

    let cmd = match ipvsadm::parse_args(&args) {
        Ok(c) => c,
        Err(e) => return fail(io, &prog, &e),
    };
    if cmd == Command::Restore {
        return restore(&mut session, &prog, io);
    }
    execute(&mut session, &prog, cmd, &args, io)
}

/// Removes `--socket PATH` / `--socket=PATH` from `args`, returning the path.
fn take_socket_option(args: &mut Vec<String>) -> Result<Option<PathBuf>, IpvsadmError> {
    let mut path = None;
    let mut i = 0;
    while i < args.len() {
        if let Some(p) = args[i].strip_prefix("--socket=") {
            path = Some(PathBuf::from(p));
            args.remove(i);
        } else if args[i] == "--socket" {
            if i + 1 >= args.len() {
                return Err(IpvsadmError::Option {
                    option: "--socket".into(),
                    problem: "missing argument",
                });
            }
            path = Some(PathBuf::from(args.remove(i + 1)));
            args.remove(i);
        } else {
            i += 1;
        }
    }
    Ok(path)
}

/// The connection to rvsd, opened on first use.
struct Session {
    path: PathBuf,
    client: Option<Client>,
}

impl Session {
    fn call(&mut self, request: Request) -> Result<Response, ClientError> {
        let client = match &mut self.client {
            Some(c) => c,
            None => self.client.insert(Client::connect(&self.path)?),
        };
        client.call(request)
    }

    fn table(&mut self) -> Result<Table, ClientError> {
        match self.call(Request::Table)? {
            Response::Table(t) => Ok(t),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(r: &Response) -> ClientError {
    ClientError::Protocol(format!("unexpected answer from rvsd: {r:?}"))
}

/// Prints an ipvsadm error as ipvsadm does (its message and a newline on stderr) and returns
/// its exit status.
fn fail(io: &mut Io, prog: &str, e: &IpvsadmError) -> i32 {
    let _ = match e {
        // tryhelp_exit: "Try `%s -h' or '%s --help' for more information.\n"
        IpvsadmError::TryHelp => writeln!(
            io.stderr,
            "Try `{prog} -h' or '{prog} --help' for more information."
        ),
        e => writeln!(io.stderr, "{e}"),
    };
    e.exit_code()
}

fn client_fail(io: &mut Io, e: &ClientError) -> i32 {
    let _ = match e {
        // As ipvsadm's "Can't initialize ipvs: %s\nAre you sure that IP Virtual Server is
        // built in the kernel or as module?" (exit 2).
        ClientError::Connect { path, source } => writeln!(
            io.stderr,
            "Can't connect to rvsd at {}: {source}\nAre you sure that rvsd is running and that \
             this is its control socket (--socket, RVS_SOCKET)?",
            path.display()
        ),
        ClientError::Refused(ControlError { message, .. }) => writeln!(io.stderr, "{message}"),
        e => writeln!(io.stderr, "rvsadm: {e}"),
    };
    e.exit_code()
}

/// Carries out one parsed command (`args` is its command line, sent as typed for changes).
fn execute(session: &mut Session, prog: &str, cmd: Command, args: &[String], io: &mut Io) -> i32 {
    let result: Result<String, ListError> = match cmd {
        Command::List(o) => list(session, &o),
        Command::Save { numeric } => session
            .table()
            .map(|t| ipvsadm::save(&table_to_config(&t), numeric))
            .map_err(ListError::from),
        Command::Zero(service) => session
            .call(Request::Zero { service })
            .map(|_| String::new())
            .map_err(ListError::from),
        Command::Help => {
            let _ = io.stdout.write_all(usage(prog).as_bytes());
            return 0;
        }
        Command::Version => {
            let _ = io.stdout.write_all(version().as_bytes());
            return 0;
        }
        // -R inside -R: ipvsadm's restore_table "avoid infinite loop" (tryhelp_exit, -1).
        Command::Restore => return fail(io, prog, &IpvsadmError::TryHelp),
        Command::AddService(_)
        | Command::EditService(_)
        | Command::DeleteService(_)
        | Command::Clear
        | Command::AddServer(_)
        | Command::EditServer(_)
        | Command::DeleteServer { .. }
        | Command::SetTimeouts { .. } => session
            .call(Request::Apply {
                args: args.to_vec(),
            })
            .map(|_| String::new())
            .map_err(ListError::from),
    };
    match result {
        Ok(text) => {
            let _ = io.stdout.write_all(text.as_bytes());
            0
        }
        Err(ListError::NoSuchService) => {
            // list_service: fprintf(stderr, "%s\n", ipvs_strerror(errno)); exit(1);
            let _ = writeln!(io.stderr, "No such service");
            1
        }
        Err(ListError::Client(e)) => client_fail(io, &e),
    }
}

/// Why a listing failed.
enum ListError {
    NoSuchService,
    Client(ClientError),
}

impl From<ClientError> for ListError {
    fn from(e: ClientError) -> ListError {
        ListError::Client(e)
    }
}

/// `-L` / `-l` in ipvsadm's order of precedence: `-c`, a service, `--timeout`, `--daemon`,
/// the whole table.
fn list(session: &mut Session, o: &ListOptions) -> Result<String, ListError> {
    let mut names = NameDb::system();
    if o.connection {
        return match session.call(Request::Connections)? {
            Response::Connections(c) => Ok(format::list_conn(&c, o, &mut names)),
            other => Err(unexpected(&other).into()),
        };
    }
    if let Some(key) = o.service {
        let table = session.table()?;
        let s = table
            .services
            .iter()
            .find(|s| s.key == key)
            .ok_or(ListError::NoSuchService)?;
        return Ok(format::list_service(s, o, &mut names));
    }
    if o.timeout {
        return match session.call(Request::Timeouts)? {
            Response::Timeouts(t) => Ok(format::list_timeout(&t)),
            other => Err(unexpected(&other).into()),
        };
    }
    if o.daemon {
        // No sync daemon in rvs: ipvsadm prints nothing when none runs.
        return Ok(String::new());
    }
    let table = session.table()?;
    Ok(format::list_all(&table, o, &mut names))
}

/// The table as a [`Config`] holding only services, for `rvs_config::ipvsadm::save`.
pub fn table_to_config(t: &Table) -> Config {
    Config {
        workers: 1,
        max_connections: 1,
        idle_sleep_us: 0,
        drop_entry: false,
        mbufs: 0,
        mbuf_data_room: 2176,
        timeouts: rvs_config::Timeouts::default(),
        control: rvs_config::Control::default(),
        ports: Vec::new(),
        routes: Vec::new(),
        routes6: Vec::new(),
        neighbours: Vec::new(),
        fwmark_rules: Vec::new(),
        services: t
            .services
            .iter()
            .map(|s| Service {
                key: s.key,
                scheduler: s.scheduler.clone(),
                sched_flags: s.sched_flags,
                persistence: s.persistence,
                persistence_prefix_len: s.persistence_prefix_len,
                one_packet: s.one_packet,
                // ipvsadm's rule format has no SYN proxy.
                synproxy: false,
                fullnat_local_addresses: Vec::new(),
                health_check: None,
                real_servers: s
                    .real_servers
                    .iter()
                    .map(|r| RealServer {
                        address: r.address,
                        method: r.method,
                        weight: r.weight,
                        upper_threshold: r.upper_threshold,
                        lower_threshold: r.lower_threshold,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// `-R`: each line of standard input is one command, as ipvsadm's `restore_table` reads them
/// (`config_stream_read`: the word `ipvsadm` dropped; rvs also skips blank and `#` lines).
/// As in ipvsadm, a line rvsd refuses prints its error and the next line is read; a usage
/// error (`fail()` in ipvsadm) stops at once. The status is the last line's.
fn restore(session: &mut Session, prog: &str, io: &mut Io) -> i32 {
    let mut text = String::new();
    if let Err(e) = io.stdin.read_to_string(&mut text) {
        let _ = writeln!(io.stderr, "rvsadm: cannot read standard input: {e}");
        return 1;
    }
    let mut status = 0;
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let words: Vec<String> = line
            .split_ascii_whitespace()
            .filter(|w| *w != "ipvsadm")
            .map(String::from)
            .collect();
        if words.is_empty() {
            continue;
        }
        status = match ipvsadm::parse_args(&words) {
            Ok(cmd) => {
                let s = execute(session, prog, cmd, &words, io);
                if session.client.is_none() && s == 2 {
                    return s; // rvsd unreachable: no point reading on
                }
                s
            }
            Err(e @ (IpvsadmError::Usage(_) | IpvsadmError::Unsupported(_)))
            | Err(e @ IpvsadmError::TryHelp) => return fail(io, prog, &e),
            Err(e) => fail(io, prog, &e),
        };
    }
    status
}

fn version() -> String {
    format!(
        "rvsadm v{} (ipvsadm v1.31 compatible, IPVS v1.2.1, control protocol {})\n",
        env!("CARGO_PKG_VERSION"),
        rvs_control::PROTOCOL_VERSION
    )
}

/// ipvsadm's `usage_exit` text, with what rvs supports and its extensions.
fn usage(p: &str) -> String {
    let mut s = version();
    s.push_str(&format!(
        "Usage:
  {p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [-b sched-flags]
  {p} -D virtual-service
  {p} -C
  {p} -R
  {p} -S [-n]
  {p} -a|e virtual-service -r server-address [options]
  {p} -d virtual-service -r server-address
  {p} -L|l [virtual-service] [options]
  {p} -Z [virtual-service]
  {p} --set tcp tcpfin udp
  {p} --reload
  {p} --toml
  {p} -h

"
    ));
    s.push_str(
        "Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  --reload                    re-read rvsd's configuration file (rvs)
  --toml                      print the running table as TOML (rvs)
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh|twos,
                                      the default scheduler is wlc.
  --persistent   -p [timeout]         persistent service
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --fullnat                           full NAT (source and destination translated) (rvs)
  --tun-type      type                ipip (the only tunnel type of rvs)
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output of addresses and ports
  --sched-flags  -b flags             scheduler flags (comma-separated)
  --socket PATH                       rvsd's control socket (rvs; default $RVS_SOCKET,
                                      else /run/rvsd/rvsd.sock)
",
    );
    s
}
