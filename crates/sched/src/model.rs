//! Differential tests for rr and wrr: a literal model of `ip_vs_rr.c` / `ip_vs_wrr.c` over a
//! circular doubly linked list with a head node (node 0), written from the C and independent of
//! the slice-and-id implementation, run side by side on random histories of `ipvsadm -a/-d/-e`,
//! overload flips and picks.

use crate::testutil::{rs, Svc};
use proptest::prelude::*;

struct Node {
    id: u32,
    weight: i32,
    overloaded: bool,
    next: usize,
    prev: usize,
}

const HEAD: usize = 0;

struct List {
    nodes: Vec<Node>,
}

impl List {
    fn new() -> Self {
        List {
            nodes: vec![Node {
                id: 0,
                weight: 0,
                overloaded: false,
                next: HEAD,
                prev: HEAD,
            }],
        }
    }

    fn node(&self, n: usize) -> &Node {
        &self.nodes[n]
    }

    fn entries(&self) -> Vec<usize> {
        let mut v = Vec::new();
        let mut p = self.node(HEAD).next;
        while p != HEAD {
            v.push(p);
            p = self.node(p).next;
        }
        v
    }

    /// list_add: after the head.
    fn add(&mut self, id: u32, weight: i32) -> usize {
        let n = self.nodes.len();
        let first = self.node(HEAD).next;
        self.nodes.push(Node {
            id,
            weight,
            overloaded: false,
            next: first,
            prev: HEAD,
        });
        self.nodes[first].prev = n;
        self.nodes[HEAD].next = n;
        n
    }

    /// list_del_rcu: neighbours skip the node; the node keeps its own next (and prev).
    fn del(&mut self, n: usize) {
        let (p, x) = (self.node(n).prev, self.node(n).next);
        self.nodes[p].next = x;
        self.nodes[x].prev = p;
    }

    fn find(&self, id: u32) -> usize {
        *self
            .entries()
            .iter()
            .find(|&&n| self.node(n).id == id)
            .expect("id in list")
    }
}

trait ModelSched {
    fn init(&mut self, l: &List);
    fn changed(&mut self, l: &List, n: usize, removed: bool);
    fn schedule(&mut self, l: &List) -> Option<usize>;
}

struct Rr {
    p: usize,
}

impl ModelSched for Rr {
    fn init(&mut self, _l: &List) {
        self.p = HEAD;
    }

    fn changed(&mut self, l: &List, n: usize, removed: bool) {
        // Only del_dest: p = p->next->prev when p is the removed node.
        if removed && self.p == n {
            self.p = l.node(l.node(n).next).prev;
        }
    }

    fn schedule(&mut self, l: &List) -> Option<usize> {
        let p = self.p;
        let last = p;
        let mut dest = p;
        let mut pass = 0;
        loop {
            dest = l.node(dest).next;
            while dest != HEAD {
                let d = l.node(dest);
                if !d.overloaded && d.weight > 0 {
                    self.p = dest;
                    return Some(dest);
                }
                if dest == last {
                    return None;
                }
                dest = d.next;
            }
            pass += 1;
            if !(pass < 2 && p != HEAD) {
                return None;
            }
        }
    }
}

struct Wrr {
    cl: usize,
    cw: i32,
    mw: i32,
    di: i32,
}

fn gcd(a: i32, b: i32) -> i32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Wrr {
    fn gcd_weight(l: &List) -> i32 {
        let mut g = 0;
        for n in l.entries() {
            let w = l.node(n).weight;
            if w > 0 {
                g = if g > 0 { gcd(w, g) } else { w };
            }
        }
        if g == 0 {
            1
        } else {
            g
        }
    }

    fn max_weight(l: &List) -> i32 {
        l.entries()
            .iter()
            .map(|&n| l.node(n).weight)
            .fold(0, i32::max)
    }
}

impl ModelSched for Wrr {
    fn init(&mut self, l: &List) {
        self.cl = HEAD;
        self.di = Wrr::gcd_weight(l);
        self.mw = Wrr::max_weight(l) - (self.di - 1);
        self.cw = self.mw;
    }

    fn changed(&mut self, l: &List, _n: usize, _removed: bool) {
        self.cl = HEAD;
        self.di = Wrr::gcd_weight(l);
        self.mw = Wrr::max_weight(l) - (self.di - 1);
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }

    fn schedule(&mut self, l: &List) -> Option<usize> {
        let mut dest = self.cl;
        let mut stop: Option<usize> = None;
        let (mut last_pass, mut restarted) = (false, false);
        if self.mw == 0 {
            return None;
        }
        let last = dest;
        loop {
            dest = l.node(dest).next;
            while dest != HEAD {
                let d = l.node(dest);
                if !d.overloaded && d.weight >= self.cw {
                    self.cl = dest;
                    return Some(dest);
                }
                if stop == Some(dest) {
                    self.cl = dest;
                    return None;
                }
                dest = d.next;
            }
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
                if last_pass || last == HEAD {
                    self.cl = dest;
                    return None;
                }
                restarted = true;
            }
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last != HEAD {
                stop = Some(last);
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Add(i32),
    Remove(usize),
    Edit(usize, i32),
    Overload(usize, bool),
    Reset,
    Pick,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..7i32).prop_map(Op::Add),
        1 => any::<usize>().prop_map(Op::Remove),
        2 => (any::<usize>(), 0..7i32).prop_map(|(k, w)| Op::Edit(k, w)),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(k, o)| Op::Overload(k, o)),
        1 => Just(Op::Reset),
        8 => Just(Op::Pick),
    ]
}

fn run(name: &str, model: &mut dyn ModelSched, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut svc = Svc::new(name);
    let mut list = List::new();
    model.init(&list);
    let mut next_id = 1;
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Add(w) => {
                let n = list.add(next_id, w);
                svc.add(rs(next_id, w));
                model.changed(&list, n, false);
                next_id += 1;
            }
            Op::Remove(k) | Op::Edit(k, _) | Op::Overload(k, _) if svc.dests.is_empty() => {
                let _ = k;
            }
            Op::Remove(k) => {
                let id = svc.ids()[k % svc.dests.len()];
                let n = list.find(id);
                list.del(n);
                svc.remove(id);
                model.changed(&list, n, true);
            }
            Op::Edit(k, w) => {
                let id = svc.ids()[k % svc.dests.len()];
                let n = list.find(id);
                list.nodes[n].weight = w;
                svc.set_weight(id, w);
                model.changed(&list, n, false);
            }
            Op::Overload(k, on) => {
                let id = svc.ids()[k % svc.dests.len()];
                let n = list.find(id);
                list.nodes[n].overloaded = on;
                svc.set_overloaded(id, on);
            }
            Op::Reset => {
                svc.sched.update(&svc.dests, crate::Change::Reset);
                model.init(&list);
            }
            Op::Pick => {
                let want = model.schedule(&list).map(|n| list.node(n).id);
                let got = svc.pick();
                prop_assert_eq!(got, want, "{} step {}: {:?}", name, step, ops);
            }
        }
        // The slice is the list in order.
        let order: Vec<u32> = list.entries().iter().map(|&n| list.node(n).id).collect();
        prop_assert_eq!(svc.ids(), order);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn rr_matches_the_kernel_model(ops in prop::collection::vec(op(), 0..80)) {
        run("rr", &mut Rr { p: HEAD }, &ops)?;
    }

    #[test]
    fn wrr_matches_the_kernel_model(ops in prop::collection::vec(op(), 0..80)) {
        run("wrr", &mut Wrr { cl: HEAD, cw: 0, mw: 0, di: 1 }, &ops)?;
    }
}
