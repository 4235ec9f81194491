//! Errors of the safe DPDK layer, worded for the operator who has to fix them.

use std::ffi::CStr;

/// What went wrong talking to DPDK. DPDK error numbers are kept next to their
/// `rte_strerror` text so logs carry both.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `rte_eal_init` runs at most once per process, whether it succeeded or not.
    #[error(
        "DPDK EAL was already initialised (or an attempt failed) in this process; \
         rte_eal_init can run only once per process"
    )]
    AlreadyInitialised,

    /// `rte_eal_init` failed.
    #[error(
        "DPDK EAL init failed: {reason} (rte_errno {errno}); see the EAL log lines above. \
         Without hugepages pass --no-huge (with -m <MB>), or reserve them \
         (echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages); \
         run as root, or pass --in-memory to avoid /var/run/dpdk files"
    )]
    EalInit {
        /// `rte_errno` after the call.
        errno: i32,
        /// `rte_strerror(errno)`.
        reason: String,
    },

    /// A DPDK call returned an error.
    #[error("{op} failed: {reason} (errno {errno})")]
    Eal {
        /// The DPDK function (and its subject) that failed.
        op: String,
        /// Positive errno value (DPDK returns `-errno` or sets `rte_errno`).
        errno: i32,
        /// `rte_strerror(errno)`.
        reason: String,
    },

    /// No ethdev port of that name (check `--vdev`/PCI allow-list arguments).
    #[error(
        "no DPDK port named {0:?}; create it with a --vdev EAL argument or Port::from_vdev, \
         or bind the NIC to vfio-pci and allow it with -a"
    )]
    NoSuchPort(String),

    /// A queue index outside what the port was configured with.
    #[error("port {port} has no {dir} queue {queue} (configured {configured})")]
    NoSuchQueue {
        /// Port id.
        port: u16,
        /// "rx" or "tx".
        dir: &'static str,
        /// Requested queue.
        queue: u16,
        /// Number of queues configured.
        configured: u16,
    },

    /// The device supports fewer queues than asked for.
    #[error(
        "port {port} ({name}) supports at most {max_rx} rx / {max_tx} tx queues, \
         {rx} rx / {tx} tx were asked; use fewer worker lcores or another device"
    )]
    TooManyQueues {
        /// Port id.
        port: u16,
        /// Port name.
        name: String,
        /// Requested rx queues.
        rx: u16,
        /// Requested tx queues.
        tx: u16,
        /// Device limit for rx queues.
        max_rx: u16,
        /// Device limit for tx queues.
        max_tx: u16,
    },

    /// A queue handle for this queue is already held (one handle per queue).
    #[error("{dir} queue {queue} of port {port} is already held by another handle")]
    QueueInUse {
        /// Port id.
        port: u16,
        /// "rx" or "tx".
        dir: &'static str,
        /// Queue index.
        queue: u16,
    },

    /// Configure/stop refused while workers still hold queue handles.
    #[error(
        "port {0} still has rx/tx queue handles alive; stop and join the workers \
         that poll it first"
    )]
    PortBusy(u16),

    /// The lcore is not an enabled worker lcore of this EAL.
    #[error(
        "lcore {0} is not an enabled worker lcore (the main lcore runs the caller); \
         list it in the EAL -l/--lcores argument"
    )]
    NotAWorkerLcore(u32),

    /// The worker lcore is still running a previous function.
    #[error("lcore {0} is busy running a previous function; join it first")]
    LcoreBusy(u32),

    /// EAL cleanup refused because DPDK objects are still in use.
    #[error("EAL cleanup skipped: {0}; drop them first")]
    StillInUse(String),

    /// A name or argument DPDK cannot take (e.g. it contains NUL, or is too long).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// An [`Error::Eal`] for `op` from a positive errno value.
    pub(crate) fn eal(op: impl Into<String>, errno: i32) -> Error {
        let errno = errno.abs();
        Error::Eal {
            op: op.into(),
            errno,
            reason: strerror(errno),
        }
    }

    /// An [`Error::Eal`] for `op` from the calling thread's `rte_errno`.
    pub(crate) fn from_rte_errno(op: impl Into<String>) -> Error {
        Error::eal(op, rte_errno())
    }
}

/// The calling lcore's `rte_errno`.
pub fn rte_errno() -> i32 {
    // SAFETY: reads a thread-local int; valid on any thread, EAL or not.
    unsafe { dpdk_sys::rvs_errno() }
}

/// `rte_strerror(errno)` as an owned string.
pub fn strerror(errno: i32) -> String {
    // SAFETY: rte_strerror accepts any value and returns a NUL-terminated string, either
    // static or in a thread-local buffer that we copy before returning.
    let p = unsafe { dpdk_sys::rte_strerror(errno) };
    if p.is_null() {
        return format!("error {errno}");
    }
    // SAFETY: non-null, NUL-terminated (see above), and alive until the next rte_strerror
    // call on this thread; copied out right away.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}
