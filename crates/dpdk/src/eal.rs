//! The Environment Abstraction Layer: init once per process, lcores, cleanup.
//!
//! Lifetime model: [`Eal`] lives on the thread that called [`Eal::init`] (DPDK's main
//! lcore) and is neither `Send` nor `Sync`, so every control-path call that takes `&Eal`
//! runs there, as DPDK requires. Objects that use EAL memory (mempools, rings, ports,
//! lcore joins) each hold an [`EalToken`]; dropping `Eal` runs `rte_eal_cleanup` only when
//! no token is left, because after cleanup no DPDK call may be made.

use std::ffi::{c_char, c_int, c_void, CString};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::Error;

/// Set by the first `Eal::init`, successful or not: DPDK cannot init twice.
static INIT_ATTEMPTED: AtomicBool = AtomicBool::new(false);

/// Number of live [`EalToken`]s.
static LIVE_TOKENS: AtomicUsize = AtomicUsize::new(0);

/// Lcores launched and not yet joined (see [`launch_on_lcore`]).
static LAUNCHED: [AtomicBool; dpdk_sys::RTE_MAX_LCORE as usize] =
    [const { AtomicBool::new(false) }; dpdk_sys::RTE_MAX_LCORE as usize];

/// Value a worker lcore returns when its closure panicked.
pub const LCORE_PANICKED: i32 = i32::MIN;

/// Keeps EAL memory alive: `rte_eal_cleanup` waits until every token is gone.
/// A token that is leaked on purpose (`pin_forever`) keeps EAL alive for the process.
pub(crate) struct EalToken(());

impl EalToken {
    pub(crate) fn new(_proof: &Eal) -> EalToken {
        LIVE_TOKENS.fetch_add(1, Ordering::AcqRel);
        EalToken(())
    }

    /// For objects that must outlive their handle (a mempool whose mbufs are still out):
    /// EAL then never cleans up, which is sound, unlike freeing memory still in use.
    pub(crate) fn pin_forever(self) {
        std::mem::forget(self);
    }
}

impl Clone for EalToken {
    fn clone(&self) -> EalToken {
        LIVE_TOKENS.fetch_add(1, Ordering::AcqRel);
        EalToken(())
    }
}

impl Drop for EalToken {
    fn drop(&mut self) {
        LIVE_TOKENS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Proof that DPDK's EAL is initialised, held by the main lcore's thread.
///
/// Not `Clone`, not `Send`, not `Sync`: it stays on the thread that initialised EAL.
/// Dropping it calls `rte_eal_cleanup` once nothing else uses EAL memory (ports are
/// stopped and closed first); otherwise cleanup is skipped with a warning.
#[derive(Debug)]
pub struct Eal {
    main_lcore: u32,
    cleaned: bool,
    _main_thread_only: PhantomData<*const ()>,
}

impl Eal {
    /// Runs `rte_eal_init` with `args` (`args[0]` is the program name, the rest EAL
    /// options such as `-l 0-3 --no-huge -m 512 --vdev net_ring0`).
    ///
    /// The calling thread becomes the main lcore (EAL pins it to that lcore's CPU).
    /// A second call in the same process returns [`Error::AlreadyInitialised`], whether
    /// the first succeeded or not.
    pub fn init<S: AsRef<str>>(args: &[S]) -> Result<Eal, Error> {
        if args.is_empty() {
            return Err(Error::InvalidArgument(
                "EAL args must start with the program name".into(),
            ));
        }
        let c_args = args
            .iter()
            .map(|a| {
                CString::new(a.as_ref()).map_err(|_| {
                    Error::InvalidArgument(format!("EAL argument {:?} contains NUL", a.as_ref()))
                })
            })
            .collect::<Result<Vec<CString>, Error>>()?;
        let argc = c_int::try_from(c_args.len())
            .map_err(|_| Error::InvalidArgument("too many EAL arguments".into()))?;
        if INIT_ATTEMPTED.swap(true, Ordering::SeqCst) {
            return Err(Error::AlreadyInitialised);
        }
        // EAL permutes argv and may keep pointers into it (saved args, option strings):
        // the strings and the array live for the rest of the process.
        let mut argv: Vec<*mut c_char> = c_args.into_iter().map(CString::into_raw).collect();
        argv.push(std::ptr::null_mut());
        let argv: &'static mut [*mut c_char] = argv.leak();
        // SAFETY: argv holds argc valid NUL-terminated strings followed by NULL, leaked so
        // they outlive EAL; INIT_ATTEMPTED guarantees this is the only call in the process.
        let ret = unsafe { dpdk_sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            let errno = crate::error::rte_errno();
            return Err(Error::EalInit {
                errno,
                reason: crate::error::strerror(errno),
            });
        }
        // SAFETY: EAL is initialised; plain getter.
        let main_lcore = unsafe { dpdk_sys::rte_get_main_lcore() };
        Ok(Eal {
            main_lcore,
            cleaned: false,
            _main_thread_only: PhantomData,
        })
    }

    /// The lcore of the thread that called [`Eal::init`].
    pub fn main_lcore(&self) -> u32 {
        self.main_lcore
    }

    /// Enabled lcores other than the main one, in increasing order.
    pub fn worker_lcores(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut i = u32::MAX; // rte_get_next_lcore(-1, ..) starts at lcore 0
        loop {
            // SAFETY: EAL is initialised; rte_get_next_lcore only reads lcore config and
            // returns RTE_MAX_LCORE when done.
            i = unsafe { dpdk_sys::rte_get_next_lcore(i, 1, 0) };
            if i >= dpdk_sys::RTE_MAX_LCORE {
                return out;
            }
            out.push(i);
        }
    }

    /// Number of enabled lcores, main included.
    pub fn lcore_count(&self) -> u32 {
        // SAFETY: EAL is initialised; plain getter.
        unsafe { dpdk_sys::rte_lcore_count() }
    }

    /// NUMA socket of the main lcore (the calling thread).
    pub fn socket_id(&self) -> i32 {
        // SAFETY: reads the calling lcore's socket from EAL's per-thread state.
        let s = unsafe { dpdk_sys::rte_socket_id() };
        i32::try_from(s).unwrap_or(dpdk_sys::SOCKET_ID_ANY)
    }
}

impl Eal {
    /// Stops and closes every port, then releases EAL (`rte_eal_cleanup`). Fails with
    /// [`Error::StillInUse`] (and leaves EAL up) while port or queue handles, mempools
    /// with mbufs out, rings or unjoined lcores remain. Dropping `Eal` does the same and
    /// logs the failure instead.
    pub fn cleanup(mut self) -> Result<(), Error> {
        self.try_cleanup()
    }

    fn try_cleanup(&mut self) -> Result<(), Error> {
        if self.cleaned {
            return Ok(());
        }
        if !crate::port::close_all_ports() {
            return Err(Error::StillInUse(
                "port or rx/tx queue handles are alive".into(),
            ));
        }
        let live = LIVE_TOKENS.load(Ordering::Acquire);
        if live != 0 {
            return Err(Error::StillInUse(format!(
                "{live} DPDK objects (mempools, mbufs out of a dropped pool, rings, \
                 unjoined lcores) are alive"
            )));
        }
        self.cleaned = true;
        // SAFETY: on the main lcore (Eal is !Send); no port, mempool, ring or launched
        // lcore handle is alive (LIVE_TOKENS is 0), and every Mbuf belongs to a mempool
        // whose handle would still hold or have pinned a token, so no DPDK object is used
        // after this call; `cleaned` makes it the only call.
        let ret = unsafe { dpdk_sys::rte_eal_cleanup() };
        if ret != 0 {
            return Err(Error::eal("rte_eal_cleanup", ret));
        }
        Ok(())
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        if let Err(e) = self.try_cleanup() {
            tracing::warn!("EAL cleanup skipped: {e}");
        }
    }
}

/// The current thread's lcore id, or `None` on a thread EAL did not create or register.
pub fn lcore_id() -> Option<u32> {
    // SAFETY: reads a thread-local; valid on any thread.
    let id = unsafe { dpdk_sys::rvs_lcore_id() };
    (id != dpdk_sys::LCORE_ID_ANY).then_some(id)
}

/// CPU pause hint for busy-poll loops (`rte_pause`).
pub fn pause() {
    // SAFETY: a single PAUSE instruction.
    unsafe { dpdk_sys::rvs_pause() }
}

/// TSC frequency measured by EAL (0 before [`Eal::init`]).
pub fn tsc_hz() -> u64 {
    // SAFETY: reads a global set at init; 0 before.
    unsafe { dpdk_sys::rte_get_tsc_hz() }
}

/// Current TSC cycle counter (`rte_get_tsc_cycles`).
pub fn tsc() -> u64 {
    // SAFETY: executes RDTSC; no memory is touched.
    unsafe { dpdk_sys::rvs_get_tsc_cycles() }
}

type LcoreFn = Box<dyn FnOnce() -> i32 + Send>;

/// Runs `f` on worker lcore `lcore` (`rte_eal_remote_launch`). Join with
/// [`LcoreJoin::join`]; dropping the join handle also waits for the lcore.
///
/// A panic inside `f` is caught at the lcore boundary and reported as
/// [`LCORE_PANICKED`] (the panic message goes to stderr via the panic hook).
pub fn launch_on_lcore<F>(eal: &Eal, lcore: u32, f: F) -> Result<LcoreJoin, Error>
where
    F: FnOnce() -> i32 + Send + 'static,
{
    let slot = LAUNCHED
        .get(lcore as usize)
        .ok_or(Error::NotAWorkerLcore(lcore))?;
    // SAFETY: lcore < RTE_MAX_LCORE (checked by the get above); reads lcore config.
    let enabled = unsafe { dpdk_sys::rte_lcore_is_enabled(lcore) } != 0;
    if lcore == eal.main_lcore || !enabled {
        return Err(Error::NotAWorkerLcore(lcore));
    }
    if slot.swap(true, Ordering::AcqRel) {
        return Err(Error::LcoreBusy(lcore));
    }
    let arg: *mut LcoreFn = Box::into_raw(Box::new(Box::new(f) as LcoreFn));
    // SAFETY: on the main lcore (&Eal is only reachable there); `lcore` is an enabled
    // worker; `arg` is a leaked Box that lcore_trampoline takes back exactly once, and
    // only if the launch succeeded.
    let ret = unsafe { dpdk_sys::rte_eal_remote_launch(Some(lcore_trampoline), arg.cast(), lcore) };
    if ret != 0 {
        // SAFETY: the launch failed, so the worker never saw `arg`; reclaim it here.
        drop(unsafe { Box::from_raw(arg) });
        slot.store(false, Ordering::Release);
        return Err(if ret == -libc_ebusy() {
            Error::LcoreBusy(lcore)
        } else {
            Error::eal(format!("rte_eal_remote_launch(lcore {lcore})"), ret)
        });
    }
    Ok(LcoreJoin {
        lcore,
        joined: false,
        _token: EalToken::new(eal),
        _main_thread_only: PhantomData,
    })
}

const fn libc_ebusy() -> i32 {
    16 // EBUSY on Linux
}

/// Entry point on the worker lcore: takes back the boxed closure and runs it.
unsafe extern "C" fn lcore_trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Box leaked by launch_on_lcore for this launch; EAL passes it
    // to exactly one call of this function.
    let f = unsafe { Box::from_raw(arg.cast::<LcoreFn>()) };
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(LCORE_PANICKED)
}

/// A function running on a worker lcore. Not `Send`: joined from the main lcore.
#[derive(Debug)]
pub struct LcoreJoin {
    lcore: u32,
    joined: bool,
    _token: EalToken,
    _main_thread_only: PhantomData<*const ()>,
}

impl std::fmt::Debug for EalToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EalToken")
    }
}

impl LcoreJoin {
    /// The lcore the function runs on.
    pub fn lcore(&self) -> u32 {
        self.lcore
    }

    /// Waits for the function to return and gives its value (`rte_eal_wait_lcore`).
    pub fn join(mut self) -> i32 {
        self.wait()
    }

    fn wait(&mut self) -> i32 {
        // SAFETY: on the main lcore (LcoreJoin is !Send and made there); `lcore` is an
        // enabled worker that we launched.
        let ret = unsafe { dpdk_sys::rte_eal_wait_lcore(self.lcore) };
        self.joined = true;
        LAUNCHED[self.lcore as usize].store(false, Ordering::Release);
        ret
    }
}

impl Drop for LcoreJoin {
    fn drop(&mut self) {
        if !self.joined {
            self.wait();
        }
    }
}
