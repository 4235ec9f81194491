//! IPVS connection states, transitions and timeouts, as Linux's `net/netfilter/ipvs`.
//!
//! # The life of a connection, as the kernel counts it
//! 1. **Creation** (`ip_vs_conn_new`): state 0 (TCP `NONE`; UDP's only state), timeout 3 s
//!    ([`INITIAL_TIMEOUT_NS`]). `ip_vs_bind_dest` then counts it on its real server as
//!    **inactive**: every real server's `conn_flags` carry `IP_VS_CONN_F_INACTIVE`
//!    (`__ip_vs_update_dest`), so a new connection enters `inactconns`, never `activeconns`.
//! 2. **First packet**: `ip_vs_in` runs the protocol's state transition on the very packet that
//!    created the connection. For TCP that is `set_tcp_state`: an input SYN moves `NONE` →
//!    `SYN_RECV`. Whenever the state changes, `set_tcp_state` moves the connection between the
//!    real server's counters: active iff [`is_active`] holds for the new state. Since Linux 4.7
//!    ("ipvs: count pre-established TCP states as active") that is ESTABLISHED, SYN_SENT,
//!    SYN_RECV and SYNACK, so a new TCP connection is active from its first SYN on (it was
//!    inactive until ESTABLISHED before 4.7). UDP (`udp_state_transition`) never changes state
//!    and never touches the counters: UDP connections stay inactive for life, which is why
//!    `ipvsadm -L` shows them under InActConn.
//! 3. **Every packet**: the timeout is set from the (new) state — `cp->timeout =
//!    timeout_table[new_state]`, even when the state did not change — and the timer re-armed to
//!    now + timeout when the packet is done (`ip_vs_conn_put`). In rvs: `expires_ns = now +
//!    timeouts.for_state(new)`, then [`crate::ConnTable::set_expiry`].
//! 4. **Expiry**: the connection leaves its real server's counter (active or inactive, as it
//!    stands) and is freed.
//!
//! The engine's part, per packet of a connection: `let new = next_state(old, dir, flags);
//! active += active_delta(old, new); expires = now + timeouts.for_state(new)`.
//!
//! # Directions
//! The TCP table has three parts: INPUT (client → real server), OUTPUT (real server → client)
//! and INPUT_ONLY. Connections whose real server is not reached by NAT (DR, TUN) carry
//! `IP_VS_CONN_F_NOOUTPUT` from birth (`__ip_vs_update_dest`); while the flag is set, their
//! input packets use INPUT_ONLY, and the first output packet seen clears it for good. See
//! [`state_dir`].

use std::fmt;

use crate::Dir;

/// One second in nanoseconds, the unit of every IPVS timeout.
pub const SEC_NS: u64 = 1_000_000_000;

/// The timeout `ip_vs_conn_new` gives a new connection (3 s) before its first state transition;
/// protocols without a state machine in IPVS keep it.
pub const INITIAL_TIMEOUT_NS: u64 = 3 * SEC_NS;

/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;

/// TCP header flag bits (RFC 9293 §3.1), as in the 14th byte of the TCP header.
pub mod tcp_flags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push function.
    pub const PSH: u8 = 0x08;
    /// Acknowledgment field is significant.
    pub const ACK: u8 = 0x10;
    /// Urgent pointer field is significant.
    pub const URG: u8 = 0x20;
}

/// TCP connection state, `IP_VS_TCP_S_*` of `include/net/ip_vs.h`, in the kernel's order (the
/// discriminant is the kernel's state number, the column of the state table).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[repr(u8)]
pub enum TcpState {
    /// `IP_VS_TCP_S_NONE`: created, no packet seen yet.
    None = 0,
    /// `IP_VS_TCP_S_ESTABLISHED`.
    Established,
    /// `IP_VS_TCP_S_SYN_SENT`: a SYN seen from the real server's side.
    SynSent,
    /// `IP_VS_TCP_S_SYN_RECV`: the client's SYN seen.
    SynRecv,
    /// `IP_VS_TCP_S_FIN_WAIT`.
    FinWait,
    /// `IP_VS_TCP_S_TIME_WAIT`.
    TimeWait,
    /// `IP_VS_TCP_S_CLOSE`.
    Close,
    /// `IP_VS_TCP_S_CLOSE_WAIT`.
    CloseWait,
    /// `IP_VS_TCP_S_LAST_ACK`.
    LastAck,
    /// `IP_VS_TCP_S_LISTEN`: set by `ip_vs_tcp_conn_listen` for FTP data connections.
    Listen,
    /// `IP_VS_TCP_S_SYNACK`: used by the secure_tcp table.
    Synack,
}

impl TcpState {
    /// Number of TCP states (`IP_VS_TCP_S_LAST`).
    pub const COUNT: usize = 11;

    /// All states in kernel order.
    pub const ALL: [TcpState; TcpState::COUNT] = [
        TcpState::None,
        TcpState::Established,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::FinWait,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Listen,
        TcpState::Synack,
    ];

    /// The kernel's state number.
    #[inline]
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The state with kernel number `i`, if there is one.
    #[must_use]
    pub fn from_index(i: usize) -> Option<TcpState> {
        TcpState::ALL.get(i).copied()
    }

    /// The name `ipvsadm -L -c` and `/proc/net/ip_vs_conn` print (`tcp_state_name_table`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Synack => "SYNACK",
        }
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A connection's protocol state.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum State {
    /// TCP, with IPVS's TCP state.
    Tcp(TcpState),
    /// UDP: IPVS has one state (`IP_VS_UDP_S_NORMAL`).
    Udp,
    /// Any other protocol: no state machine.
    Other,
}

impl State {
    /// The name `ipvsadm -L -c` prints: the TCP state name, `UDP`, or `NONE` for a protocol
    /// without state names (`ip_vs_state_name` for state 0).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            State::Tcp(s) => s.name(),
            State::Udp => "UDP",
            State::Other => "NONE",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The state `ip_vs_conn_new` gives a new connection of IP protocol `proto` (state 0), before
/// the first packet's transition.
#[must_use]
pub const fn initial_state(proto: u8) -> State {
    match proto {
        IPPROTO_TCP => State::Tcp(TcpState::None),
        IPPROTO_UDP => State::Udp,
        _ => State::Other,
    }
}

/// IPVS's packet direction for the state table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum StateDir {
    /// Client → real server (`IP_VS_DIR_INPUT`, table offset `TCP_DIR_INPUT`).
    Input,
    /// Real server → client (`IP_VS_DIR_OUTPUT`, offset `TCP_DIR_OUTPUT`).
    Output,
    /// Client → real server on a connection whose replies the director does not see (DR/TUN;
    /// offset `TCP_DIR_INPUT_ONLY`).
    InputOnly,
}

/// Which direction to feed the state table, and the connection's new "no output seen" flag
/// (`IP_VS_CONN_F_NOOUTPUT`), as `set_tcp_state` decides: with the flag set (every DR/TUN
/// connection starts so), an inbound packet is `InputOnly`; an outbound packet is `Output` and
/// clears the flag for good.
#[must_use]
pub const fn state_dir(dir: Dir, no_output: bool) -> (StateDir, bool) {
    match (dir, no_output) {
        (Dir::Inbound, true) => (StateDir::InputOnly, true),
        (Dir::Inbound, false) => (StateDir::Input, false),
        (Dir::Outbound, _) => (StateDir::Output, false),
    }
}

/// Row of the TCP state table a packet selects, by its flags (`tcp_state_idx`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TcpEvent {
    /// SYN set (and RST clear).
    Syn = 0,
    /// FIN set (RST, SYN clear).
    Fin = 1,
    /// ACK set (RST, SYN, FIN clear).
    Ack = 2,
    /// RST set, whatever else is.
    Rst = 3,
}

/// The event a TCP flag byte stands for, in `tcp_state_idx`'s order of precedence: RST, then
/// SYN, then FIN, then ACK. `None` when none of the four is set.
#[inline]
#[must_use]
pub const fn tcp_event(flags: u8) -> Option<TcpEvent> {
    if flags & tcp_flags::RST != 0 {
        Some(TcpEvent::Rst)
    } else if flags & tcp_flags::SYN != 0 {
        Some(TcpEvent::Syn)
    } else if flags & tcp_flags::FIN != 0 {
        Some(TcpEvent::Fin)
    } else if flags & tcp_flags::ACK != 0 {
        Some(TcpEvent::Ack)
    } else {
        None
    }
}

/// Which TCP state table is in force: the normal one, or the one the `secure_tcp` sysctl
/// (defense against SYN floods) switches to (`tcp_timeout_change`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum StateTable {
    /// `tcp_states`.
    #[default]
    Normal,
    /// `tcp_states_dos`.
    Secure,
}

// Short names for the table, as the kernel's sES, sSS, ... (no packet leads back to NONE, so
// sNO appears only as a column heading).
const ES: TcpState = TcpState::Established;
const SS: TcpState = TcpState::SynSent;
const SR: TcpState = TcpState::SynRecv;
const FW: TcpState = TcpState::FinWait;
const TW: TcpState = TcpState::TimeWait;
const CL: TcpState = TcpState::Close;
const CW: TcpState = TcpState::CloseWait;
const LA: TcpState = TcpState::LastAck;
const LI: TcpState = TcpState::Listen;
const SA: TcpState = TcpState::Synack;

/// `[direction][event][current state] → next state`; directions in `StateDir` order, events in
/// `TcpEvent` order, states in kernel order.
type Table = [[[TcpState; TcpState::COUNT]; 4]; 3];

/// `tcp_states` of ip_vs_proto_tcp.c (Linux 4.x–6.x; older kernels, e.g. 2.6.x, had CLOSE for
/// an ACK in NONE on input).
#[rustfmt::skip]
const TCP_STATES: Table = [
    // INPUT      NO  ES  SS  SR  FW  TW  CL  CW  LA  LI  SA
    [/* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
     /* fin */ [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW],
     /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
     /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR]],
    // OUTPUT
    [/* syn */ [SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR],
     /* fin */ [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
     /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
     /* rst */ [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL]],
    // INPUT_ONLY
    [/* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
     /* fin */ [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
     /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
     /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL]],
];

/// `tcp_states_dos` of ip_vs_proto_tcp.c (the secure_tcp table).
#[rustfmt::skip]
const TCP_STATES_DOS: Table = [
    // INPUT      NO  ES  SS  SR  FW  TW  CL  CW  LA  LI  SA
    [/* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SA],
     /* fin */ [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, SA],
     /* ack */ [ES, ES, SS, SR, FW, TW, CL, CW, CL, LI, SA],
     /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL]],
    // OUTPUT
    [/* syn */ [SS, ES, SS, SA, SS, SS, SS, SS, SS, LI, SA],
     /* fin */ [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
     /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
     /* rst */ [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL]],
    // INPUT_ONLY
    [/* syn */ [SA, ES, ES, SR, SA, SA, SA, SA, SA, SA, SA],
     /* fin */ [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
     /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
     /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL]],
];

/// The next TCP state after a packet with TCP flag byte `flags` travelling `dir`, with the
/// normal table: exactly `tcp_state_idx` + `tcp_states` of `set_tcp_state`.
///
/// A packet with none of SYN, FIN, ACK, RST set moves the connection to CLOSE, as in the
/// kernel (`new_state` starts as `IP_VS_TCP_S_CLOSE` and the table is skipped).
#[inline]
#[must_use]
pub fn tcp_next_state(cur: TcpState, dir: StateDir, flags: u8) -> TcpState {
    tcp_next_state_with(StateTable::Normal, cur, dir, flags)
}

/// [`tcp_next_state`] with a choice of table (normal or secure_tcp).
#[inline]
#[must_use]
pub fn tcp_next_state_with(table: StateTable, cur: TcpState, dir: StateDir, flags: u8) -> TcpState {
    let Some(event) = tcp_event(flags) else {
        return TcpState::Close;
    };
    let t = match table {
        StateTable::Normal => &TCP_STATES,
        StateTable::Secure => &TCP_STATES_DOS,
    };
    let d = match dir {
        StateDir::Input => 0,
        StateDir::Output => 1,
        StateDir::InputOnly => 2,
    };
    t[d][event as usize][cur.index()]
}

/// The next state of any connection after a packet: TCP by [`tcp_next_state`] (`tcp_flags` is
/// the TCP flag byte), UDP and others unchanged (`udp_state_transition` only re-arms).
#[inline]
#[must_use]
pub fn next_state(cur: State, dir: StateDir, tcp_flags: u8) -> State {
    match cur {
        State::Tcp(s) => State::Tcp(tcp_next_state(s, dir, tcp_flags)),
        other => other,
    }
}

/// Whether a connection in state `s` counts in its real server's active connections (the
/// `activeconns` the lc/wlc/sed/nq schedulers weigh), else in its inactive ones.
///
/// TCP: `tcp_state_active_table` (Linux ≥ 4.7): ESTABLISHED, SYN_SENT, SYN_RECV, SYNACK.
/// UDP and other protocols: never (their transitions never move the counters, and
/// `ip_vs_bind_dest` starts every connection inactive).
#[inline]
#[must_use]
pub const fn is_active(s: State) -> bool {
    matches!(
        s,
        State::Tcp(
            TcpState::Established | TcpState::SynSent | TcpState::SynRecv | TcpState::Synack
        )
    )
}

/// Change of the real server's active-connection count when a connection goes from `old` to
/// `new` (+1: inactive → active, -1: active → inactive, 0: none); the inactive count moves the
/// opposite way. As `set_tcp_state`'s `IP_VS_CONN_F_INACTIVE` bookkeeping.
#[inline]
#[must_use]
pub const fn active_delta(old: State, new: State) -> i32 {
    match (is_active(old), is_active(new)) {
        (false, true) => 1,
        (true, false) => -1,
        _ => 0,
    }
}

/// Whether a SYN that matches an existing connection in state `s` starts a *new* connection
/// (the old one is expired at once and the SYN scheduled afresh) under the default
/// `conn_reuse_mode` (1): the connection is TCP in TIME_WAIT or CLOSE (`is_new_conn_expected`).
///
/// Otherwise the SYN belongs to the old connection and goes to its real server, through the
/// state table (e.g. ESTABLISHED stays ESTABLISHED). The kernel applies this to connections
/// without a controlling template (not persistent, not FTP data); the engine checks that part.
#[inline]
#[must_use]
pub const fn is_reusable_by_syn(s: State) -> bool {
    is_new_conn_expected(s, 1, false)
}

/// `is_new_conn_expected` with an explicit `conn_reuse_mode` sysctl value and the connection's
/// no-output flag: mode 0 never reuses (the `conn_reuse_mode &&` test of `ip_vs_in`); any
/// non-zero mode reuses TCP TIME_WAIT and CLOSE; bit 2 also reuses FIN_WAIT on connections
/// whose replies were never seen (DR/TUN, where FIN_WAIT is where the client's FIN leaves it).
#[inline]
#[must_use]
pub const fn is_new_conn_expected(s: State, conn_reuse_mode: u32, no_output: bool) -> bool {
    if conn_reuse_mode == 0 {
        return false;
    }
    match s {
        State::Tcp(TcpState::TimeWait | TcpState::Close) => true,
        State::Tcp(TcpState::FinWait) => conn_reuse_mode & 2 != 0 && no_output,
        _ => false,
    }
}

/// Connection timeouts in nanoseconds: per TCP state, UDP, and other protocols.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Timeouts {
    /// Per TCP state, indexed by [`TcpState::index`].
    pub tcp: [u64; TcpState::COUNT],
    /// UDP (`IP_VS_UDP_S_NORMAL`).
    pub udp: u64,
    /// Protocols without an IPVS state machine.
    pub other: u64,
}

impl Default for Timeouts {
    /// The kernel's defaults: `tcp_timeouts[]` of ip_vs_proto_tcp.c, `udp_timeouts[]` of
    /// ip_vs_proto_udp.c (5 min), and [`INITIAL_TIMEOUT_NS`] for other protocols.
    fn default() -> Self {
        let mut tcp = [0; TcpState::COUNT];
        for s in TcpState::ALL {
            tcp[s.index()] = SEC_NS
                * match s {
                    TcpState::None => 2,
                    TcpState::Established => 15 * 60,
                    TcpState::SynSent => 2 * 60,
                    TcpState::SynRecv => 60,
                    TcpState::FinWait => 2 * 60,
                    TcpState::TimeWait => 2 * 60,
                    TcpState::Close => 10,
                    TcpState::CloseWait => 60,
                    TcpState::LastAck => 30,
                    TcpState::Listen => 2 * 60,
                    TcpState::Synack => 120,
                };
        }
        Timeouts {
            tcp,
            udp: 5 * 60 * SEC_NS,
            other: INITIAL_TIMEOUT_NS,
        }
    }
}

impl Timeouts {
    /// Timeout of TCP state `s`.
    #[inline]
    #[must_use]
    pub fn tcp(&self, s: TcpState) -> u64 {
        self.tcp[s.index()]
    }

    /// Timeout of a connection in state `s`: what the kernel sets as `cp->timeout` after each
    /// packet.
    #[inline]
    #[must_use]
    pub fn for_state(&self, s: State) -> u64 {
        match s {
            State::Tcp(t) => self.tcp(t),
            State::Udp => self.udp,
            State::Other => self.other,
        }
    }

    /// Sets the timeout of TCP state `s` (the kernel's per-state sysctl-less table entry).
    pub fn set_tcp(&mut self, s: TcpState, ns: u64) {
        self.tcp[s.index()] = ns;
    }

    /// The `tcp` value of `ipvsadm --set`: the ESTABLISHED timeout.
    pub fn set_tcp_est(&mut self, ns: u64) {
        self.set_tcp(TcpState::Established, ns);
    }

    /// The `tcpfin` value of `ipvsadm --set`: the FIN_WAIT timeout only (`ip_vs_set_timeout`
    /// touches no other state; TIME_WAIT, CLOSE_WAIT, LAST_ACK keep theirs).
    pub fn set_tcp_fin(&mut self, ns: u64) {
        self.set_tcp(TcpState::FinWait, ns);
    }

    /// The `udp` value of `ipvsadm --set`.
    pub fn set_udp(&mut self, ns: u64) {
        self.udp = ns;
    }

    /// `ipvsadm --set TCP TCPFIN UDP`, in seconds, as `ip_vs_set_timeout`: a zero leaves that
    /// timeout unchanged. (The kernel also refuses values above `INT_MAX / HZ` with EINVAL;
    /// that limit depends on the kernel's HZ and is left to the configuration layer.)
    pub fn apply_ipvsadm_set(&mut self, tcp_s: u32, tcpfin_s: u32, udp_s: u32) {
        if tcp_s != 0 {
            self.set_tcp_est(u64::from(tcp_s) * SEC_NS);
        }
        if tcpfin_s != 0 {
            self.set_tcp_fin(u64::from(tcpfin_s) * SEC_NS);
        }
        if udp_s != 0 {
            self.set_udp(u64::from(udp_s) * SEC_NS);
        }
    }

    /// `(tcp, tcpfin, udp)` in whole seconds, as `ipvsadm -L --timeout` shows them
    /// (`__ip_vs_get_timeouts`).
    #[must_use]
    pub fn ipvsadm_values(&self) -> (u64, u64, u64) {
        (
            self.tcp(TcpState::Established) / SEC_NS,
            self.tcp(TcpState::FinWait) / SEC_NS,
            self.udp / SEC_NS,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::tcp_flags::{ACK, FIN, PSH, RST, SYN, URG};
    use super::*;

    /// The kernel's tables, transcribed a second time as text exactly as they appear in
    /// ip_vs_proto_tcp.c (Linux 5.x), rows syn/fin/ack/rst for INPUT, OUTPUT, INPUT-ONLY.
    const KERNEL_TCP_STATES: &str = "
        sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR
        sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW
        sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES
        sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR
        sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR
        sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW
        sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES
        sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL
        sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR
        sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW
        sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES
        sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL";

    const KERNEL_TCP_STATES_DOS: &str = "
        sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSA
        sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sSA
        sES, sES, sSS, sSR, sFW, sTW, sCL, sCW, sCL, sLI, sSA
        sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL
        sSS, sES, sSS, sSA, sSS, sSS, sSS, sSS, sSS, sLI, sSA
        sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW
        sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES
        sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL
        sSA, sES, sES, sSR, sSA, sSA, sSA, sSA, sSA, sSA, sSA
        sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW
        sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES
        sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL";

    fn parse(name: &str) -> TcpState {
        match name {
            "sNO" => TcpState::None,
            "sES" => TcpState::Established,
            "sSS" => TcpState::SynSent,
            "sSR" => TcpState::SynRecv,
            "sFW" => TcpState::FinWait,
            "sTW" => TcpState::TimeWait,
            "sCL" => TcpState::Close,
            "sCW" => TcpState::CloseWait,
            "sLA" => TcpState::LastAck,
            "sLI" => TcpState::Listen,
            "sSA" => TcpState::Synack,
            other => panic!("unknown state {other}"),
        }
    }

    /// One flag byte per row (syn, fin, ack, rst), as a real packet would carry them.
    const ROW_FLAGS: [u8; 4] = [SYN, FIN | ACK, ACK, RST | ACK];
    const DIRS: [StateDir; 3] = [StateDir::Input, StateDir::Output, StateDir::InputOnly];

    fn check_whole_table(table: StateTable, text: &str) {
        let rows: Vec<Vec<TcpState>> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| l.split(',').map(|c| parse(c.trim())).collect())
            .collect();
        assert_eq!(rows.len(), 12);
        for (r, row) in rows.iter().enumerate() {
            assert_eq!(row.len(), TcpState::COUNT);
            let dir = DIRS[r / 4];
            let flags = ROW_FLAGS[r % 4];
            for (col, &want) in row.iter().enumerate() {
                let cur = TcpState::from_index(col).unwrap();
                assert_eq!(
                    tcp_next_state_with(table, cur, dir, flags),
                    want,
                    "{table:?} {dir:?} flags {flags:#04x} from {cur}"
                );
            }
        }
    }

    #[test]
    fn normal_table_matches_kernel_tcp_states() {
        check_whole_table(StateTable::Normal, KERNEL_TCP_STATES);
    }

    #[test]
    fn secure_table_matches_kernel_tcp_states_dos() {
        check_whole_table(StateTable::Secure, KERNEL_TCP_STATES_DOS);
    }

    #[test]
    fn flag_precedence_is_tcp_state_idx() {
        // tcp_state_idx: rst, then syn, then fin, then ack.
        assert_eq!(tcp_event(RST | SYN | FIN | ACK), Some(TcpEvent::Rst));
        assert_eq!(tcp_event(SYN | FIN | ACK), Some(TcpEvent::Syn));
        assert_eq!(tcp_event(SYN | ACK), Some(TcpEvent::Syn));
        assert_eq!(tcp_event(FIN | ACK | PSH), Some(TcpEvent::Fin));
        assert_eq!(tcp_event(ACK | PSH | URG), Some(TcpEvent::Ack));
        assert_eq!(tcp_event(PSH | URG), None);
        assert_eq!(tcp_event(0), None);
        // A SYN+ACK is a SYN row: from ESTABLISHED on input it stays ESTABLISHED (syn row),
        // where a bare ACK would too, but from LAST_ACK the SYN row gives SYN_RECV.
        assert_eq!(
            tcp_next_state(TcpState::LastAck, StateDir::Input, SYN | ACK),
            TcpState::SynRecv
        );
        assert_eq!(
            tcp_next_state(TcpState::LastAck, StateDir::Input, ACK),
            TcpState::Close
        );
    }

    #[test]
    fn flagless_packet_closes_like_the_kernel() {
        // set_tcp_state: new_state starts as CLOSE; tcp_state_idx < 0 skips the table.
        for s in TcpState::ALL {
            for d in DIRS {
                assert_eq!(tcp_next_state(s, d, PSH), TcpState::Close);
                assert_eq!(tcp_next_state(s, d, 0), TcpState::Close);
            }
        }
    }

    /// Walks `steps` of (direction, flags, expected state) from NONE.
    fn walk(steps: &[(StateDir, u8, TcpState)]) {
        let mut s = TcpState::None;
        for (i, &(d, f, want)) in steps.iter().enumerate() {
            s = tcp_next_state(s, d, f);
            assert_eq!(s, want, "step {i}: {d:?} flags {f:#04x}");
        }
    }

    use StateDir::{Input as IN, InputOnly as IO, Output as OUT};
    use TcpState as T;

    #[test]
    fn nat_handshake_and_client_close() {
        walk(&[
            (IN, SYN, T::SynRecv),            // INPUT syn, sNO → sSR
            (OUT, SYN | ACK, T::SynRecv),     // OUTPUT syn, sSR → sSR
            (IN, ACK, T::Established),        // INPUT ack, sSR → sES
            (IN, ACK | PSH, T::Established),  // data
            (OUT, ACK | PSH, T::Established), // reply data, OUTPUT ack sES → sES
            (IN, FIN | ACK, T::CloseWait),    // INPUT fin, sES → sCW
            (OUT, ACK, T::CloseWait),         // OUTPUT ack, sCW → sCW
            (OUT, FIN | ACK, T::TimeWait),    // OUTPUT fin, sCW → sTW
            (IN, ACK, T::TimeWait),           // INPUT ack, sTW → sTW
        ]);
    }

    #[test]
    fn nat_server_closes_first() {
        walk(&[
            (IN, SYN, T::SynRecv),
            (OUT, SYN | ACK, T::SynRecv),
            (IN, ACK, T::Established),
            (OUT, FIN | ACK, T::FinWait), // OUTPUT fin, sES → sFW
            (IN, ACK, T::FinWait),        // INPUT ack, sFW → sFW
            (IN, FIN | ACK, T::TimeWait), // INPUT fin, sFW → sTW
            (OUT, ACK, T::TimeWait),      // OUTPUT ack, sTW → sTW
        ]);
    }

    #[test]
    fn nat_resets() {
        walk(&[
            (IN, SYN, T::SynRecv),
            (IN, ACK, T::Established),
            (IN, RST, T::Close),
        ]);
        walk(&[
            (IN, SYN, T::SynRecv),
            (IN, ACK, T::Established),
            (OUT, RST | ACK, T::Close),
        ]);
        // Server refuses the SYN: OUTPUT rst, sSR → sCL.
        walk(&[(IN, SYN, T::SynRecv), (OUT, RST | ACK, T::Close)]);
        // A client RST during the handshake keeps SYN_RECV (INPUT rst, sSR → sSR).
        walk(&[(IN, SYN, T::SynRecv), (IN, RST, T::SynRecv)]);
        // OUTPUT rst in TIME_WAIT stays TIME_WAIT.
        assert_eq!(tcp_next_state(T::TimeWait, OUT, RST), T::TimeWait);
    }

    #[test]
    fn dr_input_only_lifecycle() {
        // DR/TUN: the director sees only the client's side.
        walk(&[
            (IO, SYN, T::SynRecv),           // INPUT-ONLY syn, sNO → sSR
            (IO, ACK, T::Established),       // INPUT-ONLY ack, sSR → sES
            (IO, ACK | PSH, T::Established), // data
            (IO, FIN | ACK, T::FinWait),     // INPUT-ONLY fin, sES → sFW (INPUT has sCW)
            (IO, ACK, T::FinWait),           // INPUT-ONLY ack, sFW → sFW
        ]);
        walk(&[
            (IO, SYN, T::SynRecv),
            (IO, ACK, T::Established),
            (IO, RST, T::Close),
        ]);
        // INPUT-ONLY rst in SYNACK closes, where INPUT keeps SYN_RECV.
        assert_eq!(tcp_next_state(T::Synack, IO, RST), T::Close);
        assert_eq!(tcp_next_state(T::Synack, IN, RST), T::SynRecv);
        // A SYN on a closed DR connection restarts the handshake state.
        assert_eq!(tcp_next_state(T::TimeWait, IO, SYN), T::SynRecv);
        assert_eq!(tcp_next_state(T::Close, IO, SYN), T::SynRecv);
    }

    #[test]
    fn secure_tcp_holds_syn_floods_in_synack() {
        let t = StateTable::Secure;
        // DR under secure_tcp: a SYN enters SYNACK, and only an ACK establishes.
        assert_eq!(tcp_next_state_with(t, T::None, IO, SYN), T::Synack);
        assert_eq!(tcp_next_state_with(t, T::Synack, IO, ACK), T::Established);
        // NAT under secure_tcp: input ACK in SYN_RECV waits for the server's SYN+ACK.
        assert_eq!(tcp_next_state_with(t, T::SynRecv, IN, ACK), T::SynRecv);
        assert_eq!(
            tcp_next_state_with(t, T::SynRecv, OUT, SYN | ACK),
            T::Synack
        );
        assert_eq!(tcp_next_state_with(t, T::Synack, OUT, ACK), T::Established);
    }

    #[test]
    fn no_output_flag_selects_input_only() {
        // set_tcp_state with IP_VS_CONN_F_NOOUTPUT.
        assert_eq!(state_dir(Dir::Inbound, true), (StateDir::InputOnly, true));
        assert_eq!(state_dir(Dir::Outbound, true), (StateDir::Output, false));
        assert_eq!(state_dir(Dir::Inbound, false), (StateDir::Input, false));
        assert_eq!(state_dir(Dir::Outbound, false), (StateDir::Output, false));
    }

    #[test]
    fn default_timeouts_are_the_kernels() {
        let t = Timeouts::default();
        let want = [
            (T::None, 2),
            (T::Established, 900),
            (T::SynSent, 120),
            (T::SynRecv, 60),
            (T::FinWait, 120),
            (T::TimeWait, 120),
            (T::Close, 10),
            (T::CloseWait, 60),
            (T::LastAck, 30),
            (T::Listen, 120),
            (T::Synack, 120),
        ];
        for (s, secs) in want {
            assert_eq!(t.tcp(s), secs * SEC_NS, "{s}");
            assert_eq!(t.for_state(State::Tcp(s)), secs * SEC_NS);
        }
        assert_eq!(t.udp, 300 * SEC_NS);
        assert_eq!(t.for_state(State::Udp), 300 * SEC_NS);
        assert_eq!(t.for_state(State::Other), 3 * SEC_NS);
        assert_eq!(t.ipvsadm_values(), (900, 120, 300));
    }

    #[test]
    fn ipvsadm_set_changes_established_finwait_udp_only() {
        let mut t = Timeouts::default();
        let before = t;
        t.apply_ipvsadm_set(7200, 30, 60);
        assert_eq!(t.ipvsadm_values(), (7200, 30, 60));
        assert_eq!(t.tcp(T::Established), 7200 * SEC_NS);
        assert_eq!(t.tcp(T::FinWait), 30 * SEC_NS);
        assert_eq!(t.udp, 60 * SEC_NS);
        for s in TcpState::ALL {
            if s != T::Established && s != T::FinWait {
                assert_eq!(t.tcp(s), before.tcp(s), "--set must not touch {s}");
            }
        }
        // Zero means "leave as is".
        t.apply_ipvsadm_set(0, 0, 0);
        assert_eq!(t.ipvsadm_values(), (7200, 30, 60));
        t.apply_ipvsadm_set(0, 45, 0);
        assert_eq!(t.ipvsadm_values(), (7200, 45, 60));
        // Largest value does not overflow.
        t.apply_ipvsadm_set(u32::MAX, 0, 0);
        assert_eq!(t.ipvsadm_values().0, u64::from(u32::MAX));
    }

    #[test]
    fn active_counting() {
        // tcp_state_active_table.
        let active: Vec<TcpState> = TcpState::ALL
            .into_iter()
            .filter(|&s| is_active(State::Tcp(s)))
            .collect();
        assert_eq!(
            active,
            vec![T::Established, T::SynSent, T::SynRecv, T::Synack]
        );
        assert!(!is_active(State::Udp));
        assert!(!is_active(State::Other));
    }

    /// A new TCP connection is bound inactive (state NONE), and its first SYN — processed right
    /// away by ip_vs_in — makes it active; it turns inactive at FIN, and the counter never moves
    /// for UDP.
    #[test]
    fn new_connection_counting() {
        /// Real-server counters: (active, inactive).
        fn step(c: &mut (i32, i32), s: &mut State, d: StateDir, f: u8) {
            let new = next_state(*s, d, f);
            let delta = active_delta(*s, new);
            c.0 += delta;
            c.1 -= delta;
            *s = new;
        }
        // ip_vs_bind_dest: IP_VS_CONN_F_INACTIVE set, inactconns++.
        let mut s = initial_state(IPPROTO_TCP);
        assert_eq!(s, State::Tcp(T::None));
        assert!(!is_active(s));
        let mut c = (0, 1);
        step(&mut c, &mut s, IN, SYN);
        assert_eq!(s, State::Tcp(T::SynRecv));
        assert_eq!(c, (1, 0));
        step(&mut c, &mut s, IN, ACK);
        assert_eq!(c, (1, 0));
        step(&mut c, &mut s, IN, FIN | ACK);
        assert_eq!(s, State::Tcp(T::CloseWait));
        assert_eq!(c, (0, 1));
        step(&mut c, &mut s, OUT, FIN | ACK);
        assert_eq!(c, (0, 1));

        let mut u = initial_state(IPPROTO_UDP);
        assert_eq!(u, State::Udp);
        for d in [IN, OUT, IN] {
            let new = next_state(u, d, 0);
            assert_eq!(active_delta(u, new), 0);
            u = new;
        }
        assert_eq!(u, State::Udp);
        assert_eq!(initial_state(1), State::Other);
        assert_eq!(next_state(State::Other, IN, SYN), State::Other);
    }

    #[test]
    fn syn_reuse_of_closed_connections() {
        for s in TcpState::ALL {
            let st = State::Tcp(s);
            assert_eq!(
                is_reusable_by_syn(st),
                matches!(s, T::TimeWait | T::Close),
                "{s}"
            );
            // Mode 0 disables reuse entirely.
            assert!(!is_new_conn_expected(st, 0, true));
        }
        assert!(!is_reusable_by_syn(State::Udp));
        assert!(!is_reusable_by_syn(State::Other));
        // Bit 2: FIN_WAIT of a DR/TUN connection too, not of a NAT one.
        assert!(is_new_conn_expected(State::Tcp(T::FinWait), 3, true));
        assert!(!is_new_conn_expected(State::Tcp(T::FinWait), 3, false));
        assert!(!is_new_conn_expected(State::Tcp(T::FinWait), 1, true));
        assert!(is_new_conn_expected(State::Tcp(T::TimeWait), 2, false));
    }

    #[test]
    fn names_match_ipvsadm() {
        assert_eq!(State::Tcp(T::Established).to_string(), "ESTABLISHED");
        assert_eq!(State::Tcp(T::SynRecv).name(), "SYN_RECV");
        assert_eq!(State::Udp.name(), "UDP");
        assert_eq!(State::Other.name(), "NONE");
        for (i, s) in TcpState::ALL.into_iter().enumerate() {
            assert_eq!(s.index(), i);
            assert_eq!(TcpState::from_index(i), Some(s));
        }
        assert_eq!(TcpState::from_index(TcpState::COUNT), None);
    }
}
