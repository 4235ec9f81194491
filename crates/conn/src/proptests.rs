//! Property test: the table against a plain `HashMap` model over random operation sequences
//! (insert with every error case, lookup from both directions, re-arm, remove, expire with
//! budgets, clock jumps beyond one wheel turn), checking the internal invariants after each op.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use proptest::prelude::*;

use crate::state::TcpState;
use crate::{ConnId, ConnTable, Dir, FlowKey, InsertError, State, TICK_NS, WHEEL_SLOTS};

const CAP: usize = 12;
const KEYS: u8 = 24;
const S: u64 = TICK_NS;

/// A small universe of keys, so that inserts collide (Exists) and fill the table (Full).
fn key(k: u8) -> FlowKey {
    FlowKey {
        proto: if k.is_multiple_of(5) { 17 } else { 6 },
        src: Ipv4Addr::new(10, 0, 0, k / 4),
        src_port: 1000 + u16::from(k % 4),
        dst: Ipv4Addr::new(192, 0, 2, 1),
        dst_port: 80,
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert {
        k_in: u8,
        k_out: Option<u8>,
        exp: i64,
    },
    RemoveKey(u8),
    RemoveId(u32),
    SetExpiry {
        k: u8,
        exp: i64,
    },
    Advance(u64),
    Expire(usize),
}

/// Expiry relative to now: mostly near (including already past), sometimes beyond a wheel turn.
fn exp_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![
        8 => -3 * S as i64..30 * S as i64,
        1 => (WHEEL_SLOTS as i64 * S as i64)..(3 * WHEEL_SLOTS as i64 * S as i64),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..KEYS, proptest::option::of(0..KEYS), exp_strategy())
            .prop_map(|(k_in, k_out, exp)| Op::Insert { k_in, k_out, exp }),
        2 => (0..KEYS).prop_map(Op::RemoveKey),
        1 => (0..CAP as u32 + 3).prop_map(Op::RemoveId),
        2 => (0..KEYS, exp_strategy()).prop_map(|(k, exp)| Op::SetExpiry { k, exp }),
        3 => prop_oneof![
            6 => 0..3 * S,
            1 => (WHEEL_SLOTS as u64 * S)..(3 * WHEEL_SLOTS as u64 * S),
        ]
        .prop_map(Op::Advance),
        3 => (0usize..6).prop_map(Op::Expire),
    ]
}

#[derive(Clone, Debug, PartialEq)]
struct ModelConn {
    in_key: FlowKey,
    out_key: Option<FlowKey>,
    expires_ns: u64,
    data: u64,
}

#[derive(Default)]
struct Model {
    conns: HashMap<u32, ModelConn>,
}

impl Model {
    fn lookup(&self, k: &FlowKey) -> Option<(ConnId, Dir)> {
        self.conns.iter().find_map(|(&id, c)| {
            if c.in_key == *k {
                Some((ConnId(id), Dir::Inbound))
            } else if c.out_key.as_ref() == Some(k) {
                Some((ConnId(id), Dir::Outbound))
            } else {
                None
            }
        })
    }
}

fn at(now: u64, rel: i64) -> u64 {
    now.saturating_add_signed(rel)
}

fn check_same(t: &ConnTable<u64>, m: &Model) {
    t.check_invariants();
    assert_eq!(t.len(), m.conns.len());
    for k in 0..KEYS {
        let key = key(k);
        assert_eq!(t.lookup(&key), m.lookup(&key), "lookup {key:?}");
    }
    for (&id, c) in &m.conns {
        let e = t.get(ConnId(id)).expect("model conn in table");
        assert_eq!(
            (e.in_key, e.out_key, e.expires_ns, e.data),
            (c.in_key, c.out_key, c.expires_ns, c.data)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn table_matches_hashmap_model(ops in proptest::collection::vec(op_strategy(), 1..150)) {
        let mut t: ConnTable<u64> = ConnTable::with_capacity_and_seed(CAP, 11);
        let mut m = Model::default();
        let mut now = 1_000 * S;
        let mut serial = 0u64;
        let st = State::Tcp(TcpState::Established);

        for op in ops {
            match op {
                Op::Insert { k_in, k_out, exp } => {
                    let (in_key, out_key) = (key(k_in), k_out.map(key));
                    let exp = at(now, exp);
                    serial += 1;
                    let known = m.lookup(&in_key).is_some()
                        || out_key.is_some_and(|o| o == in_key || m.lookup(&o).is_some());
                    let r = t.insert(in_key, out_key, st, exp, serial);
                    if known {
                        prop_assert_eq!(r, Err(InsertError::Exists));
                    } else if m.conns.len() == CAP {
                        prop_assert_eq!(r, Err(InsertError::Full));
                    } else {
                        let id = r.expect("room and new keys");
                        prop_assert!(!m.conns.contains_key(&id.0));
                        m.conns.insert(id.0, ModelConn { in_key, out_key, expires_ns: exp, data: serial });
                    }
                }
                Op::RemoveKey(k) => {
                    let found = t.lookup(&key(k));
                    prop_assert_eq!(found, m.lookup(&key(k)));
                    if let Some((id, _)) = found {
                        let e = t.remove(id).expect("live");
                        let c = m.conns.remove(&id.0).expect("in model");
                        prop_assert_eq!(e.data, c.data);
                    }
                }
                Op::RemoveId(raw) => {
                    let r = t.remove(ConnId(raw)).map(|e| e.data);
                    prop_assert_eq!(r, m.conns.remove(&raw).map(|c| c.data));
                }
                Op::SetExpiry { k, exp } => {
                    let exp = at(now, exp);
                    if let Some((id, _)) = m.lookup(&key(k)) {
                        m.conns.get_mut(&id.0).expect("in model").expires_ns = exp;
                        t.set_expiry(id, exp);
                    }
                }
                Op::Advance(dt) => now += dt,
                Op::Expire(budget) => {
                    let now_tick = now / S;
                    let mut got = Vec::new();
                    let n = t.expire(now, budget, |id, e| got.push((id, e)));
                    prop_assert_eq!(n, got.len());
                    prop_assert!(n <= budget);
                    for (id, e) in got {
                        let c = m.conns.remove(&id.0).expect("expired conn was in model");
                        prop_assert_eq!(e.data, c.data);
                        // Never before its expiry, and only once its tick is over.
                        prop_assert!(e.expires_ns <= now);
                        prop_assert!(e.expires_ns / S < now_tick);
                    }
                    if n < budget {
                        // Budget left over: everything due is gone.
                        for c in m.conns.values() {
                            prop_assert!(c.expires_ns / S >= now_tick, "due conn left: {:?}", c);
                        }
                    }
                }
            }
            check_same(&t, &m);
        }
    }
}
