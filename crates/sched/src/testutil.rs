//! A service in miniature for the tests: real servers added at the head as the kernel does, each
//! change reported to the scheduler, picks reported by real-server id. Its real servers share a
//! load log ([`crate::watch_loads`]), as the engine's do.

use crate::{new_scheduler, Change, Dest, SchedFlags, SchedInput, Scheduler};
use std::net::{IpAddr, Ipv4Addr};

/// Real server `id` at 10.0.0.`id`:80 with weight `w`.
pub(crate) fn rs(id: u32, w: i32) -> Dest {
    let last = u8::try_from(id).unwrap_or(255);
    Dest::new(id, IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), 80, w)
}

/// A TCP SYN from `src`:`port` to the VIP 192.0.2.1:80.
pub(crate) fn input_from(src: &str, port: u16) -> SchedInput {
    SchedInput {
        proto: crate::proto::TCP,
        src: src.parse().expect("test address"),
        src_port: port,
        dst: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        dst_port: 80,
    }
}

pub(crate) struct Svc {
    pub(crate) dests: Vec<Dest>,
    pub(crate) sched: Box<dyn Scheduler>,
}

impl Svc {
    /// An empty service with scheduler `name` (a service is created before its real servers).
    pub(crate) fn new(name: &str) -> Self {
        Self::with_flags(name, SchedFlags::default())
    }

    pub(crate) fn with_flags(name: &str, flags: SchedFlags) -> Self {
        Svc {
            dests: Vec::new(),
            sched: new_scheduler(name, flags, &[]).expect("known scheduler"),
        }
    }

    /// A service whose scheduler is bound with the real servers already in place, `(id, weight)`
    /// in list order (`init_service` sees the whole list, as after `ipvsadm -E -s`).
    pub(crate) fn in_place(name: &str, servers: &[(u32, i32)]) -> Self {
        Self::in_place_with_flags(name, SchedFlags::default(), servers)
    }

    pub(crate) fn in_place_with_flags(
        name: &str,
        flags: SchedFlags,
        servers: &[(u32, i32)],
    ) -> Self {
        let dests: Vec<Dest> = servers.iter().map(|&(id, w)| rs(id, w)).collect();
        crate::watch_loads(&dests);
        let sched = new_scheduler(name, flags, &dests).expect("known scheduler");
        Svc { dests, sched }
    }

    /// `ipvsadm -a`: the kernel links the new real server at the head of the list.
    pub(crate) fn add(&mut self, d: Dest) -> &mut Self {
        let id = d.id;
        self.dests.insert(0, d);
        crate::watch_loads(&self.dests);
        self.sched.update(&self.dests, Change::Added(id));
        self
    }

    /// Add real servers one after the other, `(id, weight)`.
    pub(crate) fn add_all(&mut self, servers: &[(u32, i32)]) -> &mut Self {
        for &(id, w) in servers {
            self.add(rs(id, w));
        }
        self
    }

    /// `ipvsadm -d`.
    pub(crate) fn remove(&mut self, id: u32) -> &mut Self {
        self.dests.retain(|d| d.id != id);
        self.sched.update(&self.dests, Change::Removed(id));
        self
    }

    /// `ipvsadm -e -w`.
    pub(crate) fn set_weight(&mut self, id: u32, w: i32) -> &mut Self {
        for d in &mut self.dests {
            if d.id == id {
                d.weight = w;
            }
        }
        self.sched.update(&self.dests, Change::Edited(id));
        self
    }

    /// Overload flag flips happen outside the scheduler (no hook is called in the kernel).
    pub(crate) fn set_overloaded(&mut self, id: u32, on: bool) -> &mut Self {
        for d in &self.dests {
            if d.id == id {
                d.counters.set_overloaded(on);
            }
        }
        self
    }

    pub(crate) fn counters(&self, id: u32, active: u32, inactive: u32) {
        for d in &self.dests {
            if d.id == id {
                d.counters.set(active, inactive);
            }
        }
    }

    pub(crate) fn ids(&self) -> Vec<u32> {
        self.dests.iter().map(|d| d.id).collect()
    }

    pub(crate) fn pick_for(&mut self, input: &SchedInput) -> Option<u32> {
        let i = self.sched.schedule(&self.dests, input, 0)?;
        Some(self.dests.get(i).expect("index in range").id)
    }

    pub(crate) fn pick(&mut self) -> Option<u32> {
        self.pick_for(&input_from("198.51.100.7", 40000))
    }

    /// `n` picks; 0 stands for "no destination available".
    pub(crate) fn picks(&mut self, n: usize) -> Vec<u32> {
        (0..n).map(|_| self.pick().unwrap_or(0)).collect()
    }
}
