//! Ethernet ports (ethdev) and their per-queue rx/tx handles.
//!
//! Rules that keep this sound, enforced at run time:
//! - [`Port`] is a control-path handle bound to the main lcore's thread (not `Send`).
//! - Queue handles exist only while the port is started, one per queue; configure and
//!   stop refuse ([`Error::PortBusy`]) while any is alive, so no worker polls a queue
//!   that is being torn down.
//! - The mempools a port's rx queues allocate from, and the rings of a ring-backed port,
//!   stay alive as long as the port is registered (until [`Eal`] is dropped).

use std::cell::Cell;
use std::ffi::{c_char, CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::eal::EalToken;
use crate::{Burst, Eal, Error, Mempool, RingConsumer, RingProducer};

const ENOTSUP: i32 = 95;

/// An ethdev port id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortId(pub u16);

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How [`Port::configure`] sets a port up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Rx queues (one per worker lcore). More than one turns on RSS over every flow
    /// type the device hashes.
    pub rx_queues: u16,
    /// Tx queues (one per worker lcore).
    pub tx_queues: u16,
    /// Rx descriptors per queue; clamped to the device's limits (0: device default).
    pub rx_desc: u16,
    /// Tx descriptors per queue; clamped to the device's limits (0: device default).
    pub tx_desc: u16,
    /// MTU to set; `None` keeps the device's (1500 by default).
    pub mtu: Option<u16>,
    /// Receive frames for any MAC (ignored by devices without a MAC filter).
    pub promiscuous: bool,
}

impl Default for PortConfig {
    fn default() -> PortConfig {
        PortConfig {
            rx_queues: 1,
            tx_queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            mtu: None,
            promiscuous: true,
        }
    }
}

/// Port counters (`rte_eth_stats`). Some virtual devices leave byte counters at 0
/// (net_ring and net_null in DPDK 22.11 count packets only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Packets the device dropped because rx queues were full.
    pub imissed: u64,
    /// Erroneous received packets.
    pub ierrors: u64,
    /// Failed transmissions.
    pub oerrors: u64,
    /// Rx failures for lack of mbufs in the pool.
    pub rx_nombuf: u64,
}

/// State shared by the handles of one port (registered until EAL is dropped).
struct PortShared {
    id: u16,
    state: Mutex<PortState>,
    _token: EalToken,
}

#[derive(Default)]
struct PortState {
    rx_held: Vec<bool>,
    tx_held: Vec<bool>,
    started: bool,
    /// Pools rx queues were set up with: the device allocates from them.
    pools: Vec<Mempool>,
    /// Rings a ring-backed port reads (rx) and writes (tx).
    ring_rx: Vec<RingConsumer>,
    ring_tx: Vec<RingProducer>,
}

impl PortState {
    fn any_held(&self) -> bool {
        self.rx_held.iter().chain(&self.tx_held).any(|&h| h)
    }
}

impl PortShared {
    fn lock(&self) -> MutexGuard<'_, PortState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Every port a [`Port`] handle was made for. Entries stay until EAL is dropped, so
/// pools and rings the device uses outlive every handle.
static REGISTRY: Mutex<Vec<Arc<PortShared>>> = Mutex::new(Vec::new());

fn registry() -> MutexGuard<'static, Vec<Arc<PortShared>>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn shared_for(eal: &Eal, id: u16) -> Arc<PortShared> {
    let mut reg = registry();
    if let Some(s) = reg.iter().find(|s| s.id == id) {
        return Arc::clone(s);
    }
    let s = Arc::new(PortShared {
        id,
        state: Mutex::new(PortState::default()),
        _token: EalToken::new(eal),
    });
    reg.push(Arc::clone(&s));
    s
}

/// At EAL drop: when no port or queue handle is alive, stops and closes every ethdev
/// and releases the registry (and with it pools and rings). False when handles remain.
pub(crate) fn close_all_ports() -> bool {
    let mut reg = registry();
    if reg.iter().any(|s| Arc::strong_count(s) > 1) {
        return false;
    }
    // SAFETY: on the main lcore (called from Eal::drop); no queue handle exists, so no
    // worker polls any port; pools and rings stay alive (registry) until after close.
    unsafe {
        let mut id = dpdk_sys::rte_eth_find_next(0);
        while u32::from(id) < dpdk_sys::RTE_MAX_ETHPORTS {
            dpdk_sys::rte_eth_dev_stop(id);
            dpdk_sys::rte_eth_dev_close(id);
            id = dpdk_sys::rte_eth_find_next(id + 1);
        }
    }
    reg.clear();
    true
}

fn c_string(what: &str, s: &str) -> Result<CString, Error> {
    CString::new(s).map_err(|_| Error::InvalidArgument(format!("{what} {s:?} contains NUL")))
}

/// An ethdev port: the control-path handle (configure, start, stats). Lives on the
/// main lcore's thread (not `Send`); hand [`RxQueue`]/[`TxQueue`]s to workers.
pub struct Port {
    shared: Arc<PortShared>,
    _main_thread_only: PhantomData<*const ()>,
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Port")
            .field("id", &self.shared.id)
            .field("name", &self.name())
            .finish()
    }
}

impl Port {
    fn new(eal: &Eal, id: u16) -> Port {
        Port {
            shared: shared_for(eal, id),
            _main_thread_only: PhantomData,
        }
    }

    /// The port named `name` if it exists, else creates the virtual device
    /// (`rte_vdev_init(name, args)`), e.g. `("net_ring0", "")`, `("net_null0", "size=64")`,
    /// `("net_af_packet0", "iface=veth0,qpairs=2")`, `("net_pcap0", "rx_pcap=in.pcap,tx_pcap=out.pcap")`.
    pub fn from_vdev(eal: &Eal, name: &str, args: &str) -> Result<Port, Error> {
        if let Ok(p) = Port::by_name(eal, name) {
            return Ok(p);
        }
        let c_name = c_string("device name", name)?;
        let c_args = c_string("device args", args)?;
        // SAFETY: on the main lcore (&Eal); both strings are valid for the call and
        // copied by DPDK.
        let ret = unsafe { dpdk_sys::rte_vdev_init(c_name.as_ptr(), c_args.as_ptr()) };
        if ret < 0 {
            return Err(Error::eal(
                format!(
                    "rte_vdev_init({name:?}, {args:?}) (the name must start with a loaded \
                     driver's name, e.g. net_ring, net_null, net_af_packet)"
                ),
                ret,
            ));
        }
        Port::by_name(eal, name)
    }

    /// The existing port named `name` (as given to `--vdev`, or a PCI address).
    pub fn by_name(eal: &Eal, name: &str) -> Result<Port, Error> {
        let c_name = c_string("port name", name)?;
        let mut id = 0u16;
        // SAFETY: valid C string and out-pointer for the call.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(c_name.as_ptr(), &mut id) };
        if ret != 0 {
            return Err(Error::NoSuchPort(name.to_string()));
        }
        Ok(Port::new(eal, id))
    }

    /// The existing port with id `id`.
    pub fn by_id(eal: &Eal, id: PortId) -> Result<Port, Error> {
        // SAFETY: plain validity check of a port id.
        if unsafe { dpdk_sys::rte_eth_dev_is_valid_port(id.0) } == 0 {
            return Err(Error::NoSuchPort(format!("port id {id}")));
        }
        Ok(Port::new(eal, id.0))
    }

    /// Every port EAL knows, in id order.
    pub fn all(eal: &Eal) -> Vec<Port> {
        let mut out = Vec::new();
        // SAFETY: iterates port ids; rte_eth_find_next returns RTE_MAX_ETHPORTS at the end.
        let mut id = unsafe { dpdk_sys::rte_eth_find_next(0) };
        while u32::from(id) < dpdk_sys::RTE_MAX_ETHPORTS {
            out.push(Port::new(eal, id));
            // SAFETY: as above.
            id = unsafe { dpdk_sys::rte_eth_find_next(id + 1) };
        }
        out
    }

    /// A port backed by two rings (`rte_eth_from_rings`), named `net_ring_<name>`: it
    /// receives what is enqueued into `rx`'s ring and sends into `tx`'s ring. Gives
    /// tests and tools a port whose traffic they inject and collect themselves.
    pub fn from_rings(
        eal: &Eal,
        name: &str,
        rx: RingConsumer,
        tx: RingProducer,
    ) -> Result<Port, Error> {
        let c_name = c_string("ring port name", name)?;
        let rx_rings = [rx.raw()];
        let tx_rings = [tx.raw()];
        let socket = eal.socket_id() as u32;
        // SAFETY: on the main lcore; the ring arrays are read during the call; the rings
        // stay alive and exclusively used by the device because their consumer/producer
        // handles move into the port's registered state below.
        let ret = unsafe {
            dpdk_sys::rte_eth_from_rings(
                c_name.as_ptr(),
                rx_rings.as_ptr(),
                1,
                tx_rings.as_ptr(),
                1,
                socket,
            )
        };
        let id = u16::try_from(ret)
            .map_err(|_| Error::from_rte_errno(format!("rte_eth_from_rings({name:?})")))?;
        let port = Port::new(eal, id);
        {
            let mut st = port.shared.lock();
            st.ring_rx.push(rx);
            st.ring_tx.push(tx);
        }
        Ok(port)
    }

    /// The port id.
    pub fn id(&self) -> PortId {
        PortId(self.shared.id)
    }

    /// The device name (`rte_eth_dev_get_name_by_port`).
    pub fn name(&self) -> String {
        let mut buf = [0 as c_char; dpdk_sys::RTE_ETH_NAME_MAX_LEN as usize];
        // SAFETY: buf has RTE_ETH_NAME_MAX_LEN bytes, the most DPDK writes (NUL included).
        let ret =
            unsafe { dpdk_sys::rte_eth_dev_get_name_by_port(self.shared.id, buf.as_mut_ptr()) };
        if ret != 0 {
            return format!("port{}", self.shared.id);
        }
        // SAFETY: DPDK wrote a NUL-terminated string into buf.
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    fn dev_info(&self) -> Result<dpdk_sys::rte_eth_dev_info, Error> {
        let mut info = dpdk_sys::rte_eth_dev_info::default();
        // SAFETY: valid out-pointer for the call.
        let ret = unsafe { dpdk_sys::rte_eth_dev_info_get(self.shared.id, &mut info) };
        if ret != 0 {
            return Err(Error::eal(
                format!("rte_eth_dev_info_get(port {})", self.shared.id),
                ret,
            ));
        }
        Ok(info)
    }

    /// Configures the device and sets up its queues, rx queues allocating from `pool`.
    /// Stops the port first if it was started. Descriptor counts are clamped to the
    /// device's limits; asking for more queues than it has is [`Error::TooManyQueues`].
    ///
    /// Size `pool` for every rx descriptor it fills up front (`rx_queues × rx_desc` on
    /// each port using it, as net_tap and real NICs do) plus the per-lcore caches and
    /// the packets in flight in bursts, rings and tx queues; too small a pool shows as
    /// `rx_nombuf` or as `Mempool::alloc` returning `None`.
    pub fn configure(&mut self, cfg: &PortConfig, pool: &Mempool) -> Result<(), Error> {
        let id = self.shared.id;
        let mut st = self.shared.lock();
        if st.any_held() {
            return Err(Error::PortBusy(id));
        }
        if cfg.rx_queues == 0 && cfg.tx_queues == 0 {
            return Err(Error::InvalidArgument(format!(
                "port {id}: at least one rx or tx queue"
            )));
        }
        let info = self.dev_info()?;
        if cfg.rx_queues > info.max_rx_queues || cfg.tx_queues > info.max_tx_queues {
            return Err(Error::TooManyQueues {
                port: id,
                name: self.name(),
                rx: cfg.rx_queues,
                tx: cfg.tx_queues,
                max_rx: info.max_rx_queues,
                max_tx: info.max_tx_queues,
            });
        }
        if st.started {
            // SAFETY: no queue handle is alive (checked above), so no worker polls.
            let ret = unsafe { dpdk_sys::rte_eth_dev_stop(id) };
            if ret != 0 {
                return Err(Error::eal(format!("rte_eth_dev_stop(port {id})"), ret));
            }
            st.started = false;
        }
        // Forget the old queues before touching them: if set-up fails half way, no
        // handle may be made for a queue that is not set up.
        st.rx_held.clear();
        st.tx_held.clear();

        let mut conf = dpdk_sys::rte_eth_conf::default();
        if let Some(mtu) = cfg.mtu {
            conf.rxmode.mtu = u32::from(mtu);
        }
        if cfg.rx_queues > 1 && info.flow_type_rss_offloads != 0 {
            conf.rxmode.mq_mode = dpdk_sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads;
        }
        // SAFETY: port stopped, no queue in use; conf is a valid config for the call.
        let ret =
            unsafe { dpdk_sys::rte_eth_dev_configure(id, cfg.rx_queues, cfg.tx_queues, &conf) };
        if ret != 0 {
            return Err(Error::eal(format!("rte_eth_dev_configure(port {id})"), ret));
        }
        let (mut rxd, mut txd) = (cfg.rx_desc, cfg.tx_desc);
        // SAFETY: valid out-pointers; the port is configured.
        let ret = unsafe { dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rxd, &mut txd) };
        if ret != 0 {
            return Err(Error::eal(
                format!("rte_eth_dev_adjust_nb_rx_tx_desc(port {id})"),
                ret,
            ));
        }
        // SAFETY: plain getter; -1 (any socket) maps to SOCKET_ID_ANY as unsigned, which
        // DPDK's queue set-up accepts.
        let socket = unsafe { dpdk_sys::rte_eth_dev_socket_id(id) } as u32;
        for q in 0..cfg.rx_queues {
            // SAFETY: configured port with rx_queues queues; NULL rxconf = device
            // defaults; the pool stays alive in the registered port state below.
            let ret = unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(
                    id,
                    q,
                    rxd,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            };
            if ret != 0 {
                return Err(Error::eal(
                    format!("rte_eth_rx_queue_setup(port {id}, queue {q})"),
                    ret,
                ));
            }
        }
        if !st.pools.iter().any(|p| p.same_pool(pool)) {
            st.pools.push(pool.clone());
        }
        for q in 0..cfg.tx_queues {
            // SAFETY: configured port with tx_queues queues; NULL txconf = defaults.
            let ret =
                unsafe { dpdk_sys::rte_eth_tx_queue_setup(id, q, txd, socket, std::ptr::null()) };
            if ret != 0 {
                return Err(Error::eal(
                    format!("rte_eth_tx_queue_setup(port {id}, queue {q})"),
                    ret,
                ));
            }
        }
        if cfg.promiscuous {
            // SAFETY: configured port; plain control call.
            let ret = unsafe { dpdk_sys::rte_eth_promiscuous_enable(id) };
            if ret != 0 && ret != -ENOTSUP {
                return Err(Error::eal(
                    format!("rte_eth_promiscuous_enable(port {id})"),
                    ret,
                ));
            }
        }
        st.rx_held = vec![false; usize::from(cfg.rx_queues)];
        st.tx_held = vec![false; usize::from(cfg.tx_queues)];
        Ok(())
    }

    /// Starts the device (`rte_eth_dev_start`); queue handles can be taken after this.
    pub fn start(&mut self) -> Result<(), Error> {
        let id = self.shared.id;
        let mut st = self.shared.lock();
        if st.rx_held.is_empty() && st.tx_held.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "port {id} must be configured before it is started"
            )));
        }
        if st.started {
            return Ok(());
        }
        // SAFETY: configured port with all queues set up.
        let ret = unsafe { dpdk_sys::rte_eth_dev_start(id) };
        if ret != 0 {
            return Err(Error::eal(format!("rte_eth_dev_start(port {id})"), ret));
        }
        st.started = true;
        Ok(())
    }

    /// Stops the device (`rte_eth_dev_stop`). Refused with [`Error::PortBusy`] while a
    /// queue handle is alive: join the workers first.
    pub fn stop(&mut self) -> Result<(), Error> {
        let id = self.shared.id;
        let mut st = self.shared.lock();
        if st.any_held() {
            return Err(Error::PortBusy(id));
        }
        if !st.started {
            return Ok(());
        }
        // SAFETY: no queue handle alive, so no worker polls the port.
        let ret = unsafe { dpdk_sys::rte_eth_dev_stop(id) };
        if ret != 0 {
            return Err(Error::eal(format!("rte_eth_dev_stop(port {id})"), ret));
        }
        st.started = false;
        Ok(())
    }

    /// True between [`Port::start`] and [`Port::stop`].
    pub fn is_started(&self) -> bool {
        self.shared.lock().started
    }

    /// The port's MAC address (all zero if the device cannot tell).
    pub fn mac(&self) -> [u8; 6] {
        let mut addr = dpdk_sys::rte_ether_addr::default();
        // SAFETY: valid out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_macaddr_get(self.shared.id, &mut addr) };
        if ret != 0 {
            return [0; 6];
        }
        addr.addr_bytes
    }

    /// Link status without waiting (`rte_eth_link_get_nowait`).
    pub fn link_up(&self) -> bool {
        let mut link = dpdk_sys::rte_eth_link::default();
        // SAFETY: valid out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_link_get_nowait(self.shared.id, &mut link) };
        ret == 0 && u32::from(link.link_status()) == dpdk_sys::RTE_ETH_LINK_UP
    }

    /// Current MTU (0 if the device cannot tell).
    pub fn mtu(&self) -> u16 {
        let mut mtu = 0u16;
        // SAFETY: valid out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_mtu(self.shared.id, &mut mtu) };
        if ret != 0 {
            return 0;
        }
        mtu
    }

    /// NUMA socket of the device (`-1` when unknown, as for virtual devices).
    pub fn socket_id(&self) -> i32 {
        // SAFETY: plain getter.
        unsafe { dpdk_sys::rte_eth_dev_socket_id(self.shared.id) }
    }

    /// Device counters (all zero if the device cannot tell).
    pub fn stats(&self) -> PortStats {
        let mut s = dpdk_sys::rte_eth_stats::default();
        // SAFETY: valid out-pointer; reading counters is allowed while workers poll.
        let ret = unsafe { dpdk_sys::rte_eth_stats_get(self.shared.id, &mut s) };
        if ret != 0 {
            return PortStats::default();
        }
        PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        }
    }

    /// Zeroes the device counters.
    pub fn reset_stats(&self) -> Result<(), Error> {
        // SAFETY: plain control call.
        let ret = unsafe { dpdk_sys::rte_eth_stats_reset(self.shared.id) };
        if ret != 0 {
            return Err(Error::eal(
                format!("rte_eth_stats_reset(port {})", self.shared.id),
                ret,
            ));
        }
        Ok(())
    }

    /// Configured (rx, tx) queue counts; (0, 0) before [`Port::configure`].
    pub fn queues(&self) -> (u16, u16) {
        let st = self.shared.lock();
        (st.rx_held.len() as u16, st.tx_held.len() as u16)
    }

    /// The handle for rx queue `q`, for one worker. One handle per queue at a time; the
    /// port must be started.
    pub fn rx_queue(&self, q: u16) -> Result<RxQueue, Error> {
        self.claim(q, true)?;
        Ok(RxQueue {
            shared: Arc::clone(&self.shared),
            queue: q,
            _not_sync: PhantomData,
        })
    }

    /// The handle for tx queue `q`, for one worker. One handle per queue at a time; the
    /// port must be started.
    pub fn tx_queue(&self, q: u16) -> Result<TxQueue, Error> {
        self.claim(q, false)?;
        Ok(TxQueue {
            shared: Arc::clone(&self.shared),
            queue: q,
            _not_sync: PhantomData,
        })
    }

    fn claim(&self, q: u16, rx: bool) -> Result<(), Error> {
        let port = self.shared.id;
        let dir = if rx { "rx" } else { "tx" };
        let mut st = self.shared.lock();
        if !st.started {
            return Err(Error::InvalidArgument(format!(
                "port {port} must be started before its queues are taken"
            )));
        }
        let held = if rx { &mut st.rx_held } else { &mut st.tx_held };
        let configured = held.len() as u16;
        match held.get_mut(usize::from(q)) {
            None => Err(Error::NoSuchQueue {
                port,
                dir,
                queue: q,
                configured,
            }),
            Some(true) => Err(Error::QueueInUse {
                port,
                dir,
                queue: q,
            }),
            Some(h) => {
                *h = true;
                Ok(())
            }
        }
    }
}

/// Receive side of one queue of one port, owned by one worker: `Send`, not `Sync`.
pub struct RxQueue {
    shared: Arc<PortShared>,
    queue: u16,
    _not_sync: PhantomData<Cell<()>>,
}

impl RxQueue {
    /// Receives into the free slots of `out` (at most `out.spare()` packets); returns how
    /// many arrived. No allocation: the mbufs come from the port's pool.
    pub fn rx_burst(&mut self, out: &mut Burst) -> usize {
        let room = out.spare() as u16; // <= BURST_SIZE
        if room == 0 {
            return 0;
        }
        // SAFETY: the port is started and stays so while this handle lives (stop and
        // configure refuse); this handle is the only user of the queue (claimed);
        // spare_ptr has `room` free slots, which the PMD fills with owned mbufs.
        let n = unsafe {
            dpdk_sys::rvs_eth_rx_burst(self.shared.id, self.queue, out.spare_ptr(), room)
        };
        // SAFETY: n <= room slots were filled.
        unsafe { out.added(usize::from(n)) };
        usize::from(n)
    }

    /// The port this queue belongs to.
    pub fn port_id(&self) -> PortId {
        PortId(self.shared.id)
    }

    /// The queue index.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }
}

impl Drop for RxQueue {
    fn drop(&mut self) {
        if let Some(h) = self.shared.lock().rx_held.get_mut(usize::from(self.queue)) {
            *h = false;
        }
    }
}

impl fmt::Debug for RxQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RxQueue(port {}, queue {})", self.shared.id, self.queue)
    }
}

/// Transmit side of one queue of one port, owned by one worker: `Send`, not `Sync`.
pub struct TxQueue {
    shared: Arc<PortShared>,
    queue: u16,
    _not_sync: PhantomData<Cell<()>>,
}

impl TxQueue {
    /// Hands the mbufs at the front of `pkts` to the device, as many as it takes now;
    /// returns how many. The ones it did not take stay in `pkts`, in order: retry them
    /// later or drop them with [`Burst::clear`] (which returns the count to add to a
    /// drop counter).
    pub fn tx_burst(&mut self, pkts: &mut Burst) -> usize {
        let n = pkts.len() as u16; // <= BURST_SIZE
        if n == 0 {
            return 0;
        }
        // SAFETY: as rx_burst for the port and queue; the first n slots are owned mbufs,
        // the PMD takes ownership of the first `sent`.
        let sent =
            unsafe { dpdk_sys::rvs_eth_tx_burst(self.shared.id, self.queue, pkts.head_ptr(), n) };
        // SAFETY: the device owns the first `sent` mbufs now.
        unsafe { pkts.consumed_front(usize::from(sent)) };
        usize::from(sent)
    }

    /// The port this queue belongs to.
    pub fn port_id(&self) -> PortId {
        PortId(self.shared.id)
    }

    /// The queue index.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }
}

impl Drop for TxQueue {
    fn drop(&mut self) {
        if let Some(h) = self.shared.lock().tx_held.get_mut(usize::from(self.queue)) {
            *h = false;
        }
    }
}

impl fmt::Debug for TxQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxQueue(port {}, queue {})", self.shared.id, self.queue)
    }
}
