//! ipvsadm's command line, as ipvsadm 1.31's `parse_options` and `process_options` read it
//! through popt: the first option is the command, options follow in any order, short options
//! bundle (`-Ln`, `-At 10.0.0.1:80`), long ones take `--opt=value`, non-option arguments are
//! collected for `--set`, and the checks and messages come in ipvsadm's order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::names::NameDb;
use super::{Command, IpvsadmError, ListOptions, ServerSpec, ServiceSpec, DEFAULT_PERSISTENCE};
use crate::validate::MAX_TIMEOUT;
use crate::{Method, SchedFlags, ServiceKey};

type Result<T> = std::result::Result<T, IpvsadmError>;

/// Parses the arguments of one ipvsadm command line, without the program name
/// (`["-A", "-t", "10.0.0.1:80", "-s", "rr"]`). No arguments at all is `-L`, as ipvsadm without
/// arguments lists the table.
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<Command> {
    let args: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
    if args.is_empty() {
        return Ok(Command::List(ListOptions::default()));
    }
    Parser::new(&args).run()
}

// ---------------------------------------------------------------- the option table

/// ipvsadm's commands, in its `CMD_*` order (the rows of `commands_v_options`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Timeout,
    Restore,
    Save,
    Zero,
}

impl Cmd {
    /// Row in [`COMMANDS_V_OPTIONS`] and [`CMD_NAMES`] (ipvsadm's `CMD_*` minus 1; the daemon
    /// rows 9 and 10 are refused before they are needed).
    fn row(self) -> usize {
        match self {
            Cmd::Add => 0,
            Cmd::Edit => 1,
            Cmd::Del => 2,
            Cmd::Flush => 3,
            Cmd::List => 4,
            Cmd::AddDest => 5,
            Cmd::DelDest => 6,
            Cmd::EditDest => 7,
            Cmd::Timeout => 8,
            Cmd::Restore => 11,
            Cmd::Save => 12,
            Cmd::Zero => 13,
        }
    }
}

/// ipvsadm's `cmdnames`.
const CMD_NAMES: [&str; 14] = [
    "add-service",
    "edit-service",
    "delete-service",
    "flush",
    "list",
    "add-server",
    "delete-server",
    "edit-server",
    "set",
    "start-daemon",
    "stop-daemon",
    "restore",
    "save",
    "zero",
];

/// ipvsadm's `optnames`, indexed by its `OPTC_*` numbers.
const OPT_NAMES: [&str; 34] = [
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
];

const OPTC_NUMERIC: usize = 0;
const OPTC_CONNECTION: usize = 1;
const OPTC_SERVICE: usize = 2;
const OPTC_SCHEDULER: usize = 3;
const OPTC_PERSISTENT: usize = 4;
const OPTC_NETMASK: usize = 5;
const OPTC_SERVER: usize = 6;
const OPTC_FORWARD: usize = 7;
const OPTC_WEIGHT: usize = 8;
const OPTC_UTHRESHOLD: usize = 9;
const OPTC_LTHRESHOLD: usize = 10;
const OPTC_TIMEOUT: usize = 12;
const OPTC_DAEMON: usize = 13;
const OPTC_STATS: usize = 14;
const OPTC_RATE: usize = 15;
const OPTC_THRESHOLDS: usize = 16;
const OPTC_PERSISTENTCONN: usize = 17;
const OPTC_NOSORT: usize = 18;
const OPTC_EXACT: usize = 20;
const OPTC_ONEPACKET: usize = 21;
const OPTC_SCHED_FLAGS: usize = 23;
const OPTC_TUN_INFO: usize = 28;
const OPTC_TUN_TYPE: usize = 29;
const OPTC_TUN_PORT: usize = 30;
const OPTC_TUN_NOCSUM: usize = 31;
const OPTC_TUN_CSUM: usize = 32;
const OPTC_TUN_REMCSUM: usize = 33;

/// ipvsadm 1.31's `commands_v_options`: per command, per `OPTC_*` column, `+` compulsory, `x`
/// illegal, `1` exclusive, ` ` optional. Columns: -n -c svc -s -p -M -r fwd -w -x -y -mc tot dmn
/// -st -rt thr -pc srt sid -ex ops -pe -b grp port ttl size tinf type tprt nocs csum remc.
const COMMANDS_V_OPTIONS: [&[u8; 34]; 14] = [
    /* ADD      */ b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx",
    /* EDIT     */ b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx",
    /* DEL      */ b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /* FLUSH    */ b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /* LIST     */ b" 11xxxxxxxxx11       xxxxxxx xxxxx",
    /* ADDSRV   */ b"xx+xxx+    xxxxxxxxxxxxxxxxxx     ",
    /* DELSRV   */ b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /* EDITSRV  */ b"xx+xxx+    xxxxxxxxxxxxxxxxxx     ",
    /* TIMEOUT  */ b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /* STARTD   */ b"xxxxxxxxxxx xxxxxxx xxxx    xxxxxx",
    /* STOPD    */ b"xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx",
    /* RESTORE  */ b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /* SAVE     */ b" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /* ZERO     */ b"xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

/// What an option of the popt table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Id {
    Cmd(Cmd),
    Help,
    Version,
    StartDaemon,
    StopDaemon,
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Scheduler,
    Persistent,
    Netmask,
    RealServer,
    Masq,
    Ipip,
    Gatewaying,
    FullNat,
    Weight,
    UThreshold,
    LThreshold,
    Numeric,
    Connection,
    DaemonOption,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    TunInfo,
    TunType,
    TunPort,
    TunNoCsum,
    TunCsum,
    TunRemCsum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArgKind {
    None,
    Required,
    /// `POPT_ARGFLAG_OPTIONAL`: taken from the same word, or from the next one unless it
    /// starts with `-`.
    Optional,
}

struct Opt {
    long: &'static str,
    short: Option<char>,
    arg: ArgKind,
    id: Id,
}

const fn opt(long: &'static str, short: Option<char>, arg: ArgKind, id: Id) -> Opt {
    Opt {
        long,
        short,
        arg,
        id,
    }
}

/// ipvsadm 1.31's popt `options_table`, plus rvs's `--fullnat`.
const OPTIONS: &[Opt] = &[
    opt("add-service", Some('A'), ArgKind::None, Id::Cmd(Cmd::Add)),
    opt("edit-service", Some('E'), ArgKind::None, Id::Cmd(Cmd::Edit)),
    opt(
        "delete-service",
        Some('D'),
        ArgKind::None,
        Id::Cmd(Cmd::Del),
    ),
    opt("clear", Some('C'), ArgKind::None, Id::Cmd(Cmd::Flush)),
    opt("list", Some('L'), ArgKind::None, Id::Cmd(Cmd::List)),
    opt("list", Some('l'), ArgKind::None, Id::Cmd(Cmd::List)),
    opt("zero", Some('Z'), ArgKind::None, Id::Cmd(Cmd::Zero)),
    opt(
        "add-server",
        Some('a'),
        ArgKind::None,
        Id::Cmd(Cmd::AddDest),
    ),
    opt(
        "edit-server",
        Some('e'),
        ArgKind::None,
        Id::Cmd(Cmd::EditDest),
    ),
    opt(
        "delete-server",
        Some('d'),
        ArgKind::None,
        Id::Cmd(Cmd::DelDest),
    ),
    opt("set", None, ArgKind::None, Id::Cmd(Cmd::Timeout)),
    opt("help", Some('h'), ArgKind::None, Id::Help),
    opt("version", Some('v'), ArgKind::None, Id::Version),
    opt("restore", Some('R'), ArgKind::None, Id::Cmd(Cmd::Restore)),
    opt("save", Some('S'), ArgKind::None, Id::Cmd(Cmd::Save)),
    opt("start-daemon", None, ArgKind::Required, Id::StartDaemon),
    opt("stop-daemon", None, ArgKind::Required, Id::StopDaemon),
    opt("tcp-service", Some('t'), ArgKind::Required, Id::Tcp),
    opt("udp-service", Some('u'), ArgKind::Required, Id::Udp),
    opt("sctp-service", None, ArgKind::Required, Id::Sctp),
    opt("fwmark-service", Some('f'), ArgKind::Required, Id::Fwmark),
    opt("scheduler", Some('s'), ArgKind::Required, Id::Scheduler),
    opt("persistent", Some('p'), ArgKind::Optional, Id::Persistent),
    opt("netmask", Some('M'), ArgKind::Required, Id::Netmask),
    opt("real-server", Some('r'), ArgKind::Required, Id::RealServer),
    opt("masquerading", Some('m'), ArgKind::None, Id::Masq),
    opt("ipip", Some('i'), ArgKind::None, Id::Ipip),
    opt("gatewaying", Some('g'), ArgKind::None, Id::Gatewaying),
    opt("fullnat", None, ArgKind::None, Id::FullNat),
    opt("weight", Some('w'), ArgKind::Required, Id::Weight),
    opt("u-threshold", Some('x'), ArgKind::Required, Id::UThreshold),
    opt("l-threshold", Some('y'), ArgKind::Required, Id::LThreshold),
    opt("numeric", Some('n'), ArgKind::None, Id::Numeric),
    opt("connection", Some('c'), ArgKind::None, Id::Connection),
    opt("mcast-interface", None, ArgKind::Required, Id::DaemonOption),
    opt("syncid", None, ArgKind::Required, Id::DaemonOption),
    opt("timeout", None, ArgKind::None, Id::Timeout),
    opt("daemon", None, ArgKind::None, Id::Daemon),
    opt("stats", None, ArgKind::None, Id::Stats),
    opt("rate", None, ArgKind::None, Id::Rate),
    opt("thresholds", None, ArgKind::None, Id::Thresholds),
    opt("persistent-conn", None, ArgKind::None, Id::PersistentConn),
    opt("nosort", None, ArgKind::None, Id::NoSort),
    opt("sort", None, ArgKind::None, Id::Sort),
    opt("exact", Some('X'), ArgKind::None, Id::Exact),
    opt("ipv6", Some('6'), ArgKind::None, Id::Ipv6),
    opt("ops", Some('o'), ArgKind::None, Id::Ops),
    opt("pe", None, ArgKind::Required, Id::Pe),
    opt("sched-flags", Some('b'), ArgKind::Required, Id::SchedFlags),
    opt("mcast-group", None, ArgKind::Required, Id::DaemonOption),
    opt("mcast-port", None, ArgKind::Required, Id::DaemonOption),
    opt("mcast-ttl", None, ArgKind::Required, Id::DaemonOption),
    opt("sync-maxlen", None, ArgKind::Required, Id::DaemonOption),
    opt("tun-info", None, ArgKind::None, Id::TunInfo),
    opt("tun-type", None, ArgKind::Required, Id::TunType),
    opt("tun-port", None, ArgKind::Required, Id::TunPort),
    opt("tun-nocsum", None, ArgKind::None, Id::TunNoCsum),
    opt("tun-csum", None, ArgKind::None, Id::TunCsum),
    opt("tun-remcsum", None, ArgKind::None, Id::TunRemCsum),
];

// ---------------------------------------------------------------- popt's tokenizer

/// One result of popt's `poptGetNextOpt`.
enum Event<'a> {
    Opt {
        id: Id,
        /// The word as typed, for "invalid option `…'".
        word: &'a str,
        arg: Option<String>,
    },
    /// `POPT_ERROR_BADOPT` / `POPT_ERROR_NOARG` for this word.
    Error {
        word: &'a str,
        problem: &'static str,
    },
}

/// Splits the words into option events (in order) and leftover arguments.
struct Tokens<'a> {
    args: &'a [&'a str],
    next: usize,
    /// Remaining characters of a short-option bundle, and its word.
    bundle: Option<(&'a str, usize)>,
    rest_are_args: bool,
    leftovers: Vec<&'a str>,
}

impl<'a> Tokens<'a> {
    fn new(args: &'a [&'a str]) -> Self {
        Tokens {
            args,
            next: 0,
            bundle: None,
            rest_are_args: false,
            leftovers: Vec::new(),
        }
    }

    /// The next option, or `None` when the words are exhausted (leftovers collected).
    fn next_event(&mut self) -> Option<Event<'a>> {
        loop {
            if let Some((word, at)) = self.bundle.take() {
                return Some(self.short(word, at));
            }
            let word = *self.args.get(self.next)?;
            self.next += 1;
            if self.rest_are_args {
                self.leftovers.push(word);
                continue;
            }
            if word == "--" {
                self.rest_are_args = true;
                continue;
            }
            if let Some(long) = word.strip_prefix("--") {
                return Some(self.long(word, long));
            }
            if word.len() > 1 && word.starts_with('-') {
                return Some(self.short(word, 1));
            }
            self.leftovers.push(word);
        }
    }

    fn long(&mut self, word: &'a str, body: &'a str) -> Event<'a> {
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(o) = OPTIONS.iter().find(|o| o.long == name) else {
            return Event::Error {
                word,
                problem: "unknown option",
            };
        };
        let arg = match o.arg {
            ArgKind::None => None,
            ArgKind::Required => match inline {
                Some(v) => Some(v.to_string()),
                None => match self.take_next(false) {
                    Some(v) => Some(v),
                    None => {
                        return Event::Error {
                            word,
                            problem: "missing argument",
                        }
                    }
                },
            },
            ArgKind::Optional => match inline {
                Some(v) => Some(v.to_string()),
                None => self.take_next(true),
            },
        };
        Event::Opt {
            id: o.id,
            word,
            arg,
        }
    }

    /// The short option at byte `at` of `word` (ASCII option letters).
    fn short(&mut self, word: &'a str, at: usize) -> Event<'a> {
        let Some(c) = word.get(at..).and_then(|s| s.chars().next()) else {
            return Event::Error {
                word,
                problem: "unknown option",
            };
        };
        let Some(o) = OPTIONS.iter().find(|o| o.short == Some(c)) else {
            return Event::Error {
                word,
                problem: "unknown option",
            };
        };
        let rest = word.get(at + c.len_utf8()..).unwrap_or("");
        let arg = match o.arg {
            ArgKind::None => {
                if !rest.is_empty() {
                    self.bundle = Some((word, at + c.len_utf8()));
                }
                None
            }
            ArgKind::Required if !rest.is_empty() => Some(rest.to_string()),
            ArgKind::Required => match self.take_next(false) {
                Some(v) => Some(v),
                None => {
                    return Event::Error {
                        word,
                        problem: "missing argument",
                    }
                }
            },
            ArgKind::Optional if !rest.is_empty() => Some(rest.to_string()),
            ArgKind::Optional => self.take_next(true),
        };
        Event::Opt {
            id: o.id,
            word,
            arg,
        }
    }

    /// The next word as an option's argument; for an optional one, not a word starting with
    /// `-`.
    fn take_next(&mut self, optional: bool) -> Option<String> {
        let w = *self.args.get(self.next)?;
        if optional && w.starts_with('-') {
            return None;
        }
        self.next += 1;
        Some(w.to_string())
    }
}

// ---------------------------------------------------------------- ipvsadm's parse_options

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Af {
    Unset,
    V4,
    V6,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    None,
    Tcp,
    Udp,
}

/// ipvsadm's `struct ipvs_command_entry`, as far as rvs uses it.
struct Entry {
    cmd: Option<Cmd>,
    options: u64,
    list: ListOptions,
    // The service.
    af: Af,
    protocol: Proto,
    addr: Option<IpAddr>,
    port: u16,
    fwmark: u32,
    sched_name: String,
    persistent: Option<u32>,
    /// `svc.netmask`: an IPv4 mask (host order) or an IPv6 prefix length, as the family
    /// decides when it is used.
    netmask: u32,
    one_packet: bool,
    sched_flags_arg: Option<String>,
    // The destination.
    dest: Option<(IpAddr, u16)>,
    method: Method,
    weight: u32,
    u_threshold: u32,
    l_threshold: u32,
}

struct Parser<'a> {
    tokens: Tokens<'a>,
    names: NameDb,
}

impl<'a> Parser<'a> {
    fn new(args: &'a [&'a str]) -> Self {
        Parser {
            tokens: Tokens::new(args),
            names: NameDb::default(),
        }
    }

    fn run(mut self) -> Result<Command> {
        // process_options: defaults before parse_options.
        let mut ce = Entry {
            cmd: None,
            options: 0,
            list: ListOptions::default(),
            af: Af::Unset,
            protocol: Proto::None,
            addr: None,
            port: 0,
            fwmark: 0,
            sched_name: String::new(),
            persistent: None,
            netmask: 0xffff_ffff,
            one_packet: false,
            sched_flags_arg: None,
            dest: None,
            method: Method::Dr,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
        };

        // The first option must be a command.
        let cmd = match self.tokens.next_event() {
            Some(Event::Opt { id, .. }) => match id {
                Id::Cmd(c) => c,
                Id::Help => return Ok(Command::Help),
                Id::Version => return Ok(Command::Version),
                Id::StartDaemon | Id::StopDaemon => return Err(no_daemon()),
                _ => return Err(IpvsadmError::TryHelp),
            },
            _ => return Err(IpvsadmError::TryHelp),
        };
        ce.cmd = Some(cmd);

        while let Some(ev) = self.tokens.next_event() {
            let (id, word, arg) = match ev {
                Event::Opt { id, word, arg } => (id, word, arg),
                Event::Error { word, problem } => {
                    return Err(IpvsadmError::Option {
                        option: word.to_string(),
                        problem,
                    })
                }
            };
            let given = arg;
            let arg = given.clone().unwrap_or_default();
            match id {
                Id::Tcp | Id::Udp => {
                    set_option(&mut ce.options, OPTC_SERVICE)?;
                    ce.protocol = if id == Id::Tcp {
                        Proto::Tcp
                    } else {
                        Proto::Udp
                    };
                    let Some((addr, port)) = self.parse_service(&arg, ce.protocol) else {
                        return Err(usage("illegal virtual server address[:port] specified"));
                    };
                    ce.set_service_addr(addr, port);
                }
                Id::Sctp => {
                    return Err(IpvsadmError::Unsupported(
                        "SCTP services are not supported by rvs".into(),
                    ))
                }
                Id::Fwmark => {
                    set_option(&mut ce.options, OPTC_SERVICE)?;
                    // "Set protocol to a sane values, even though it is not used".
                    ce.af = Af::V4;
                    ce.protocol = Proto::Tcp;
                    ce.fwmark = parse_fwmark(&arg)?;
                }
                Id::Scheduler => {
                    set_option(&mut ce.options, OPTC_SCHEDULER)?;
                    ce.sched_name = arg;
                }
                Id::Persistent => {
                    set_option(&mut ce.options, OPTC_PERSISTENT)?;
                    // parse_timeout(NULL) is IPVS_SVC_PERSISTENT_TIMEOUT.
                    ce.persistent = Some(match &given {
                        None => DEFAULT_PERSISTENCE,
                        Some(t) => parse_timeout(t, 1, MAX_TIMEOUT)?,
                    });
                }
                Id::Netmask => {
                    set_option(&mut ce.options, OPTC_NETMASK)?;
                    if ce.af != Af::V6 {
                        match inet_aton(&arg) {
                            Some(mask) => ce.netmask = u32::from(mask),
                            None => {
                                return Err(usage(
                                    "illegal virtual server persistent mask specified",
                                ))
                            }
                        }
                    } else {
                        let n = atoi(&arg);
                        if !(1..=128).contains(&n) {
                            return Err(usage("illegal ipv6 netmask specified"));
                        }
                        ce.netmask = n as u32;
                    }
                }
                Id::RealServer => {
                    set_option(&mut ce.options, OPTC_SERVER)?;
                    let Some((addr, port)) = self.parse_service(&arg, ce.protocol) else {
                        return Err(usage("illegal real server address[:port] specified"));
                    };
                    // "copy vport to dport if not specified"
                    ce.dest = Some((addr, port.unwrap_or(ce.port)));
                }
                Id::Ipip | Id::Gatewaying | Id::Masq | Id::FullNat => {
                    set_option(&mut ce.options, OPTC_FORWARD)?;
                    ce.method = match id {
                        Id::Ipip => Method::Tun,
                        Id::Gatewaying => Method::Dr,
                        Id::Masq => Method::Nat,
                        _ => Method::FullNat,
                    };
                }
                Id::Weight => {
                    set_option(&mut ce.options, OPTC_WEIGHT)?;
                    ce.weight = string_to_number(&arg, 0, 65535)
                        .ok_or_else(|| usage("illegal weight specified"))?
                        as u32;
                }
                Id::UThreshold => {
                    set_option(&mut ce.options, OPTC_UTHRESHOLD)?;
                    ce.u_threshold = string_to_number(&arg, 0, i32::MAX.into())
                        .ok_or_else(|| usage("illegal u_threshold specified"))?
                        as u32;
                }
                Id::LThreshold => {
                    set_option(&mut ce.options, OPTC_LTHRESHOLD)?;
                    ce.l_threshold = string_to_number(&arg, 0, i32::MAX.into())
                        .ok_or_else(|| usage("illegal l_threshold specified"))?
                        as u32;
                }
                Id::Connection => {
                    set_option(&mut ce.options, OPTC_CONNECTION)?;
                    ce.list.connection = true;
                }
                Id::Numeric => {
                    set_option(&mut ce.options, OPTC_NUMERIC)?;
                    ce.list.numeric = true;
                }
                Id::DaemonOption | Id::StartDaemon | Id::StopDaemon => return Err(no_daemon()),
                Id::Timeout => {
                    set_option(&mut ce.options, OPTC_TIMEOUT)?;
                    ce.list.timeout = true;
                }
                Id::Daemon => {
                    set_option(&mut ce.options, OPTC_DAEMON)?;
                    ce.list.daemon = true;
                }
                Id::Stats => {
                    set_option(&mut ce.options, OPTC_STATS)?;
                    ce.list.stats = true;
                }
                Id::Rate => {
                    set_option(&mut ce.options, OPTC_RATE)?;
                    ce.list.rate = true;
                }
                Id::Thresholds => {
                    set_option(&mut ce.options, OPTC_THRESHOLDS)?;
                    ce.list.thresholds = true;
                }
                Id::PersistentConn => {
                    set_option(&mut ce.options, OPTC_PERSISTENTCONN)?;
                    ce.list.persistent_conn = true;
                }
                Id::NoSort => {
                    set_option(&mut ce.options, OPTC_NOSORT)?;
                    ce.list.nosort = true;
                }
                // "Sort is the default, this is a no-op for compatibility".
                Id::Sort => {}
                Id::Exact => {
                    set_option(&mut ce.options, OPTC_EXACT)?;
                    ce.list.exact = true;
                }
                Id::Ipv6 => {
                    if ce.fwmark != 0 {
                        ce.af = Af::V6;
                        ce.netmask = 128;
                    } else {
                        return Err(usage("-6 used before -f"));
                    }
                }
                Id::Ops => {
                    set_option(&mut ce.options, OPTC_ONEPACKET)?;
                    ce.one_packet = true;
                }
                Id::Pe => {
                    return Err(IpvsadmError::Unsupported(format!(
                        "persistence engine `{arg}' is not supported by rvs (--pe)"
                    )))
                }
                Id::SchedFlags => {
                    set_option(&mut ce.options, OPTC_SCHED_FLAGS)?;
                    ce.sched_flags_arg = Some(arg);
                }
                Id::TunInfo => {
                    set_option(&mut ce.options, OPTC_TUN_INFO)?;
                    ce.list.tun_info = true;
                }
                Id::TunType => {
                    set_option(&mut ce.options, OPTC_TUN_TYPE)?;
                    match arg.as_str() {
                        "ipip" => {}
                        "gue" | "gre" => {
                            return Err(IpvsadmError::Unsupported(format!(
                                "tunnel type {arg} is not supported by rvs (only ipip)"
                            )))
                        }
                        _ => return Err(usage("illegal tunnel type specified")),
                    }
                }
                Id::TunPort => {
                    set_option(&mut ce.options, OPTC_TUN_PORT)?;
                    string_to_number(&arg, 1, 65535)
                        .ok_or_else(|| usage("illegal tunnel port specified"))?;
                }
                Id::TunNoCsum => set_option(&mut ce.options, OPTC_TUN_NOCSUM)?,
                Id::TunCsum => set_option(&mut ce.options, OPTC_TUN_CSUM)?,
                Id::TunRemCsum => set_option(&mut ce.options, OPTC_TUN_REMCSUM)?,
                Id::Cmd(_) | Id::Help | Id::Version => {
                    return Err(usage(&format!("invalid option `{word}'")))
                }
            }
        }
        // The options ran out, so every word has been read and the leftovers collected.
        let mut leftovers = self.tokens.leftovers.iter().copied();
        let mut timeouts = (0, 0, 0);
        if cmd == Cmd::Timeout {
            let (Some(a), Some(b), Some(c)) =
                (leftovers.next(), leftovers.next(), leftovers.next())
            else {
                return Err(usage("--set option requires 3 timeout values"));
            };
            timeouts = (
                parse_timeout(a, 0, MAX_TIMEOUT)?,
                parse_timeout(b, 0, MAX_TIMEOUT)?,
                parse_timeout(c, 0, MAX_TIMEOUT)?,
            );
        }
        if let Some(extra) = leftovers.next() {
            return Err(usage(&format!("unexpected argument {extra}")));
        }

        let mut sched_flags = SchedFlags::default();
        if let Some(flags) = &ce.sched_flags_arg {
            sched_flags = parse_sched_flags(&ce.sched_name, flags)?;
        }

        generic_opt_check(cmd, ce.options)?;

        if matches!(cmd, Cmd::Add | Cmd::Edit) {
            if ce.fwmark == 0 && ce.port == 0 && ce.persistent.is_none() {
                return Err(usage("Zero port specified for non-persistent service"));
            }
            if ce.one_packet && ce.fwmark == 0 && ce.protocol != Proto::Udp {
                return Err(usage(
                    "One-Packet Scheduling is only for UDP virtual services",
                ));
            }
            if ce.sched_name.is_empty() {
                ce.sched_name = crate::DEFAULT_SCHEDULER.to_string();
            }
        }

        if matches!(cmd, Cmd::AddDest | Cmd::EditDest) {
            let fwd_tunnel = ce.method == Method::Tun;
            if let Some((addr, port)) = ce.dest.as_mut() {
                // "The destination port must be equal to the service port if the
                // IP_VS_CONN_F_TUNNEL or IP_VS_CONN_F_DROUTE is set. Don't worry about this if
                // fwmark is used."
                if ce.fwmark == 0 && matches!(ce.method, Method::Tun | Method::Dr) {
                    *port = ce.port;
                }
                let dest_af = if addr.is_ipv6() { Af::V6 } else { Af::V4 };
                if dest_af != ce.af && !fwd_tunnel {
                    return Err(usage(
                        "Different address family is allowed only for tunneling servers",
                    ));
                }
            }
            let tun_opts = ce.options
                & (bit(OPTC_TUN_TYPE)
                    | bit(OPTC_TUN_PORT)
                    | bit(OPTC_TUN_NOCSUM)
                    | bit(OPTC_TUN_CSUM)
                    | bit(OPTC_TUN_REMCSUM));
            if tun_opts != 0 && !fwd_tunnel {
                return Err(usage("Tunnel options conflict with forward method"));
            }
            // tunnel_opt_check for ipip, the only type: every tunnel option is 'x'.
            for optc in [
                OPTC_TUN_PORT,
                OPTC_TUN_NOCSUM,
                OPTC_TUN_CSUM,
                OPTC_TUN_REMCSUM,
            ] {
                if ce.options & bit(optc) != 0 {
                    return Err(usage(&format!(
                        "Illegal '{}' option with the 'ipip' tunnel type",
                        OPT_NAMES[optc]
                    )));
                }
            }
        }

        if cmd == Cmd::List {
            let o = ce.options;
            let any = |cols: &[usize]| cols.iter().any(|c| o & bit(*c) != 0);
            if (any(&[OPTC_CONNECTION, OPTC_TIMEOUT, OPTC_DAEMON])
                && any(&[OPTC_STATS, OPTC_RATE, OPTC_THRESHOLDS]))
                || (any(&[OPTC_TIMEOUT, OPTC_DAEMON]) && any(&[OPTC_PERSISTENTCONN]))
            {
                return Err(usage("options conflicts in the list command"));
            }
        }

        let has_service = ce.options & bit(OPTC_SERVICE) != 0;
        let key = if has_service {
            Some(ce.service_key()?)
        } else {
            None
        };
        let need_key = || key.ok_or(IpvsadmError::TryHelp);
        Ok(match cmd {
            Cmd::Add | Cmd::Edit => {
                let spec = ServiceSpec {
                    key: need_key()?,
                    scheduler: ce.sched_name.clone(),
                    persistence: ce.persistent,
                    persistence_prefix_len: ce.prefix_len()?,
                    sched_flags,
                    one_packet: ce.one_packet,
                };
                if cmd == Cmd::Add {
                    Command::AddService(spec)
                } else {
                    Command::EditService(spec)
                }
            }
            Cmd::Del => Command::DeleteService(need_key()?),
            Cmd::Flush => Command::Clear,
            Cmd::List => {
                ce.list.service = key;
                Command::List(ce.list)
            }
            Cmd::AddDest | Cmd::EditDest => {
                let (addr, port) = ce.dest.ok_or(IpvsadmError::TryHelp)?;
                let spec = ServerSpec {
                    service: need_key()?,
                    server: SocketAddr::new(addr, port),
                    method: ce.method,
                    weight: ce.weight,
                    upper_threshold: ce.u_threshold,
                    lower_threshold: ce.l_threshold,
                };
                if cmd == Cmd::AddDest {
                    Command::AddServer(spec)
                } else {
                    Command::EditServer(spec)
                }
            }
            Cmd::DelDest => {
                let (addr, port) = ce.dest.ok_or(IpvsadmError::TryHelp)?;
                Command::DeleteServer {
                    service: need_key()?,
                    server: SocketAddr::new(addr, port),
                }
            }
            Cmd::Timeout => Command::SetTimeouts {
                tcp: timeouts.0,
                tcpfin: timeouts.1,
                udp: timeouts.2,
            },
            Cmd::Restore => Command::Restore,
            Cmd::Save => Command::Save {
                numeric: ce.list.numeric,
            },
            Cmd::Zero => Command::Zero(key),
        })
    }

    /// ipvsadm's `parse_service`: `host[:port]`, `[ipv6]:port` or a bare IPv6 address. `None`
    /// is its `SERVICE_NONE`; the port is `None` when not given.
    fn parse_service(&mut self, buf: &str, proto: Proto) -> Option<(IpAddr, Option<u16>)> {
        if buf.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (host, port): (&str, Option<&str>) = if let Some(inner) = buf.strip_prefix('[') {
            let (h, after) = inner.split_once(']')?;
            let p = after.strip_prefix(':')?;
            if let Ok(v6) = h.parse::<Ipv6Addr>() {
                return Some((IpAddr::V6(v6), Some(self.port(p, proto)?)));
            }
            // Not IPv6 inside the brackets: ipvsadm goes on with the IPv4 path on the text
            // inside them, looking for a port there.
            match h.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (h, None),
            }
        } else if let Ok(v6) = buf.parse::<Ipv6Addr>() {
            return Some((IpAddr::V6(v6), None));
        } else {
            match buf.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (buf, None),
            }
        };
        let ip = match inet_aton(host) {
            Some(ip) => ip,
            None => self.names.host_to_addr(host)?,
        };
        let port = match port {
            None => None,
            Some(p) => Some(self.port(p, proto)?),
        };
        Some((IpAddr::V4(ip), port))
    }

    /// A port number, or a service name from /etc/services for the protocol.
    fn port(&mut self, p: &str, proto: Proto) -> Option<u16> {
        if let Some(n) = string_to_number(p, 0, 65535) {
            return Some(n as u16);
        }
        let proto = match proto {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::None => return None,
        };
        self.names.service_to_port(p, proto)
    }
}

impl Entry {
    fn set_service_addr(&mut self, addr: IpAddr, port: Option<u16>) {
        self.addr = Some(addr);
        if addr.is_ipv6() {
            self.af = Af::V6;
            self.netmask = 128;
        } else {
            self.af = Af::V4;
        }
        if let Some(p) = port {
            self.port = p;
        }
    }

    fn service_key(&self) -> Result<ServiceKey> {
        if self.fwmark != 0 {
            return Ok(ServiceKey::Fwmark {
                mark: self.fwmark,
                ipv6: self.af == Af::V6,
            });
        }
        let addr = self.addr.ok_or(IpvsadmError::TryHelp)?;
        let sa = SocketAddr::new(addr, self.port);
        Ok(match self.protocol {
            Proto::Udp => ServiceKey::Udp(sa),
            _ => ServiceKey::Tcp(sa),
        })
    }

    /// `svc.netmask` as a prefix length for the service's family.
    fn prefix_len(&self) -> Result<u8> {
        if self.af == Af::V6 {
            // 1..=128 by construction (parse_service, -6 and -M check it).
            return Ok(self.netmask.min(128) as u8);
        }
        let mask = Ipv4Addr::from(self.netmask);
        ipnet::ipv4_mask_to_prefix(mask).map_err(|_| {
            IpvsadmError::Unsupported(format!(
                "netmask {mask} is not contiguous; rvs groups persistent clients by prefix \
                 (like 255.255.255.0)"
            ))
        })
    }
}

fn bit(optc: usize) -> u64 {
    1u64 << optc
}

fn usage(msg: &str) -> IpvsadmError {
    IpvsadmError::Usage(msg.to_string())
}

fn no_daemon() -> IpvsadmError {
    IpvsadmError::Unsupported(
        "rvs has no connection synchronisation daemon (--start-daemon, --stop-daemon and their \
         options)"
            .into(),
    )
}

/// ipvsadm's `set_option`.
fn set_option(options: &mut u64, optc: usize) -> Result<()> {
    let b = bit(optc);
    if *options & b != 0 {
        return Err(usage(&format!(
            "multiple '{}' options specified",
            OPT_NAMES[optc]
        )));
    }
    *options |= b;
    Ok(())
}

/// ipvsadm's `generic_opt_check`.
fn generic_opt_check(cmd: Cmd, options: u64) -> Result<()> {
    let row = COMMANDS_V_OPTIONS[cmd.row()];
    let cmd_name = CMD_NAMES[cmd.row()];
    let mut last: Option<usize> = None;
    for (j, rule) in row.iter().enumerate() {
        let given = options & bit(j) != 0;
        if !given {
            if *rule == b'+' {
                return Err(usage(&format!(
                    "You need to supply the '{}' option for the '{cmd_name}' command",
                    OPT_NAMES[j]
                )));
            }
        } else {
            if *rule == b'x' {
                return Err(usage(&format!(
                    "Illegal '{}' option with the '{cmd_name}' command",
                    OPT_NAMES[j]
                )));
            }
            if *rule == b'1' {
                match last {
                    None => last = Some(j),
                    Some(l) => {
                        return Err(usage(&format!(
                            "The option '{}' conflicts with the '{}' option in the '{cmd_name}' \
                             command",
                            OPT_NAMES[j], OPT_NAMES[l]
                        )))
                    }
                }
            }
        }
    }
    Ok(())
}

/// ipvsadm's `parse_sched_flags` (checked against `-s`, or the default wlc).
fn parse_sched_flags(sched: &str, arg: &str) -> Result<SchedFlags> {
    let sched = if sched.is_empty() {
        crate::DEFAULT_SCHEDULER
    } else {
        sched
    };
    let mut flags = SchedFlags::default();
    let mut any = false;
    for flag in arg.split(',').filter(|f| !f.is_empty()) {
        any = true;
        let (need, fallback) = match flag {
            "flag-1" => (None, true),
            "flag-2" => (None, false),
            "flag-3" => {
                return Err(IpvsadmError::Unsupported(
                    "scheduler flag `flag-3' means nothing to rvs's schedulers".into(),
                ))
            }
            "sh-fallback" => (Some("sh"), true),
            "sh-port" => (Some("sh"), false),
            "mh-fallback" => (Some("mh"), true),
            "mh-port" => (Some("mh"), false),
            _ => return Err(usage(&format!("invalid scheduler flag `{flag}'"))),
        };
        if need.is_some_and(|n| n != sched) {
            return Err(usage(&format!("incompatible scheduler flag `{flag}'")));
        }
        if fallback {
            flags.fallback = true;
        } else {
            flags.port = true;
        }
    }
    if !any {
        return Err(usage(&format!("invalid scheduler flag `{arg}'")));
    }
    Ok(flags)
}

/// ipvsadm's `string_to_number`: `strtol(s, &end, 10)` consuming the whole string, in
/// `min..=max`.
fn string_to_number(s: &str, min: i64, max: i64) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // More digits than a long holds is ERANGE.
    let v: i64 = digits.parse().ok()?;
    let v = if neg { -v } else { v };
    (min..=max).contains(&v).then_some(v)
}

/// ipvsadm's `parse_timeout`.
fn parse_timeout(s: &str, min: i64, max: i64) -> Result<u32> {
    string_to_number(s, min, max)
        .map(|v| v as u32)
        .ok_or_else(|| usage(&format!("invalid timeout value `{s}' specified")))
}

/// ipvsadm's `parse_fwmark`: 1..=UINT_MAX.
fn parse_fwmark(s: &str) -> Result<u32> {
    string_to_number(s, 1, u32::MAX.into())
        .map(|v| v as u32)
        .ok_or_else(|| usage(&format!("invalid fwmark value `{s}' specified")))
}

/// C's `atoi`: leading blanks, a sign, the digits that follow; 0 when there are none.
fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .take(12)
        .collect();
    let v: i64 = digits.parse().unwrap_or(0);
    if neg {
        -v
    } else {
        v
    }
}

/// glibc's `inet_aton`: one to four parts in decimal, octal (`0…`) or hex (`0x…`), the last
/// filling the remaining bytes (`10.1` is 10.0.0.1); trailing blanks allowed.
fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let s = s.split([' ', '\t', '\n']).next().unwrap_or("");
    if s.is_empty() {
        return None;
    }
    let mut parts: Vec<u64> = Vec::with_capacity(4);
    for part in s.split('.') {
        if parts.len() == 4 {
            return None;
        }
        let (radix, digits) =
            if let Some(h) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                (16, h)
            } else if part.len() > 1 && part.starts_with('0') {
                (8, &part[1..])
            } else {
                (10, part)
            };
        if part.is_empty() || (radix != 16 && digits.is_empty() && part != "0") {
            return None;
        }
        let v = if digits.is_empty() {
            0
        } else {
            u64::from_str_radix(digits, radix).ok()?
        };
        if v > u64::from(u32::MAX) {
            return None;
        }
        parts.push(v);
    }
    let (last, head) = parts.split_last()?;
    if head.iter().any(|p| *p > 255) {
        return None;
    }
    let room = 8 * (4 - head.len() as u32);
    if room < 32 && *last >= (1u64 << room) {
        return None;
    }
    let mut v: u64 = 0;
    for (i, p) in head.iter().enumerate() {
        v |= p << (24 - 8 * i as u32);
    }
    v |= last;
    Some(Ipv4Addr::from(v as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_aton_forms() {
        let a = |s: &str| inet_aton(s).map(|ip| ip.to_string());
        assert_eq!(a("10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(a("10.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(a("10.1.2").as_deref(), Some("10.1.0.2"));
        assert_eq!(a("0x7f.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(a("010.0.0.1").as_deref(), Some("8.0.0.1"));
        assert_eq!(a("255.255.255.0").as_deref(), Some("255.255.255.0"));
        assert_eq!(a("1"), Some("0.0.0.1".into()));
        for bad in [
            "",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.256",
            "a.b.c.d",
            "1..2",
            "09",
        ] {
            assert_eq!(a(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn string_to_number_is_strtol_whole() {
        assert_eq!(string_to_number("5", 0, 10), Some(5));
        assert_eq!(string_to_number(" +5", 0, 10), Some(5));
        assert_eq!(string_to_number("-0", 0, 10), Some(0));
        assert_eq!(string_to_number("5x", 0, 10), None);
        assert_eq!(string_to_number("", 0, 10), None);
        assert_eq!(string_to_number("11", 0, 10), None);
        assert_eq!(string_to_number("99999999999999999999999", 0, 10), None);
    }

    #[test]
    fn atoi_stops_at_junk() {
        assert_eq!(atoi("64"), 64);
        assert_eq!(atoi(" 64abc"), 64);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi("-3"), -3);
    }

    #[test]
    fn the_table_has_ipvsadms_shape() {
        assert_eq!(OPT_NAMES[OPTC_TUN_REMCSUM], "tun-remcsum");
        assert_eq!(OPT_NAMES[OPTC_SCHED_FLAGS], "sched-flags");
        assert_eq!(CMD_NAMES[Cmd::Zero.row()], "zero");
        assert_eq!(CMD_NAMES[Cmd::Timeout.row()], "set");
        // -A needs a service; -a needs a service and a real server.
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::Add.row()][OPTC_SERVICE], b'+');
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::AddDest.row()][OPTC_SERVER], b'+');
    }
}
