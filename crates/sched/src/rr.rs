//! Round-robin, as `ip_vs_rr.c`.
//!
//! The kernel keeps one cursor, `svc->sched_data`, pointing at the list node of the last real
//! server chosen or at the list head (`ip_vs_rr_init_svc`). A pick scans forward from the node
//! after the cursor, wraps past the head, and ends at the cursor itself; the first server with
//! weight > 0 and no `IP_VS_DEST_F_OVERLOAD` wins and becomes the cursor (`ip_vs_rr_schedule`).
//! Adding a server moves nothing (no `add_dest` hook): the new server sits at the head, so it is
//! reached when the scan next wraps. Removing the server under the cursor moves the cursor back to
//! the previous node (`ip_vs_rr_del_dest`), so the scan resumes with the removed server's
//! successor. Weight edits change nothing but the skip test.

use crate::{Change, Dest, Mark, SchedInput, Scheduler};

pub(crate) struct RoundRobin {
    /// The last server chosen; None = the list head.
    cursor: Option<Mark>,
    /// Ids in list order as of the last update: `del_dest` needs the removed server's predecessor.
    order: Vec<u32>,
}

impl RoundRobin {
    pub(crate) fn new(dests: &[Dest]) -> Self {
        RoundRobin {
            cursor: None,
            order: dests.iter().map(|d| d.id).collect(),
        }
    }
}

impl Scheduler for RoundRobin {
    fn name(&self) -> &'static str {
        "rr"
    }

    fn schedule(&mut self, dests: &[Dest], _input: &SchedInput, _now_ns: u64) -> Option<usize> {
        // A cursor whose server has vanished without an update acts as the list head.
        let start = match self.cursor.and_then(|m| m.locate(dests)) {
            Some(c) => c + 1,
            None => 0,
        };
        let n = dests.len();
        // After the cursor to the tail, then from the first server up to the cursor itself.
        let order = (start..n).chain(0..start.min(n));
        for i in order {
            let Some(d) = dests.get(i) else { continue };
            if !d.is_overloaded() && d.weight > 0 {
                self.cursor = Some(Mark { id: d.id, hint: i });
                return Some(i);
            }
        }
        // ip_vs_rr_schedule "stop": the cursor is left where it was.
        None
    }

    fn update(&mut self, dests: &[Dest], change: Change) {
        match change {
            Change::Removed(id) => {
                if self.cursor.is_some_and(|m| m.id == id) {
                    // ip_vs_rr_del_dest: sched_data = p->next->prev, the removed node's
                    // predecessor (the head when it was first).
                    let pos = self.order.iter().position(|&x| x == id);
                    self.cursor = pos
                        .and_then(|p| p.checked_sub(1))
                        .and_then(|p| self.order.get(p).map(|&id| Mark { id, hint: p }));
                }
            }
            Change::Reset => self.cursor = None,
            Change::Added(_) | Change::Edited(_) => {}
        }
        self.order.clear();
        self.order.extend(dests.iter().map(|d| d.id));
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::{rs, Svc};
    use crate::Change;

    #[test]
    fn most_recently_added_server_comes_first() {
        // ip_vs_ctl.c __ip_vs_update_dest: list_add_rcu at the head, so the list is [RS2, RS1];
        // ip_vs_rr_init_svc puts the cursor at the head and the scan starts at head->next = RS2.
        let mut s = Svc::new("rr");
        s.add(rs(1, 1)).add(rs(2, 1));
        assert_eq!(s.ids(), vec![2, 1]);
        assert_eq!(s.picks(5), vec![2, 1, 2, 1, 2]);
    }

    #[test]
    fn removing_the_cursor_server_resumes_with_its_successor() {
        // ip_vs_rr_del_dest: cursor moves back to the removed node's predecessor.
        let mut s = Svc::new("rr");
        s.add_all(&[(1, 1), (2, 1), (3, 1), (4, 1)]); // list [4, 3, 2, 1]
        assert_eq!(s.picks(2), vec![4, 3]); // cursor on 3
        s.remove(3); // cursor back on 4
        assert_eq!(s.picks(4), vec![2, 1, 4, 2]);
    }

    #[test]
    fn removing_the_first_server_under_the_cursor_goes_back_to_the_head() {
        let mut s = Svc::new("rr");
        s.add_all(&[(1, 1), (2, 1), (3, 1)]); // [3, 2, 1]
        assert_eq!(s.picks(1), vec![3]);
        s.remove(3); // predecessor is the head
        assert_eq!(s.picks(3), vec![2, 1, 2]);
    }

    #[test]
    fn removing_another_server_leaves_the_cursor() {
        let mut s = Svc::new("rr");
        s.add_all(&[(1, 1), (2, 1), (3, 1), (4, 1)]); // [4, 3, 2, 1]
        assert_eq!(s.picks(1), vec![4]);
        s.remove(2);
        assert_eq!(s.picks(4), vec![3, 1, 4, 3]);
    }

    #[test]
    fn a_server_added_mid_sequence_waits_for_the_wrap() {
        // No add_dest hook: the cursor stays on its node, the new server is at the head.
        let mut s = Svc::new("rr");
        s.add_all(&[(1, 1), (2, 1), (3, 1), (4, 1)]); // [4, 3, 2, 1]
        assert_eq!(s.picks(2), vec![4, 3]);
        s.add(rs(5, 1)); // [5, 4, 3, 2, 1]
        assert_eq!(s.picks(6), vec![2, 1, 5, 4, 3, 2]);
    }

    #[test]
    fn quiescent_and_overloaded_servers_are_skipped() {
        // ip_vs_rr_schedule: HIT needs !IP_VS_DEST_F_OVERLOAD && weight > 0.
        let mut s = Svc::new("rr");
        s.add_all(&[(1, 1), (2, 1), (3, 0), (4, 1)]); // [4, 3(w0), 2, 1]
        s.set_overloaded(1, true);
        assert_eq!(s.picks(4), vec![4, 2, 4, 2]);
        // Weight is only a yes/no for rr.
        s.set_weight(4, 100);
        assert_eq!(s.picks(3), vec![4, 2, 4]);
    }

    #[test]
    fn nothing_available_keeps_the_cursor() {
        // "stop:" path returns NULL without touching sched_data.
        let mut s = Svc::new("rr");
        s.add_all(&[(1, 1), (2, 1), (3, 1)]); // [3, 2, 1]
        assert_eq!(s.picks(2), vec![3, 2]); // cursor on 2
        for id in [1, 2, 3] {
            s.set_overloaded(id, true);
        }
        assert_eq!(s.picks(2), vec![0, 0]);
        for id in [1, 2, 3] {
            s.set_overloaded(id, false);
        }
        assert_eq!(s.picks(2), vec![1, 3]);
    }

    #[test]
    fn reset_goes_back_to_the_head() {
        let mut s = Svc::new("rr");
        s.add_all(&[(1, 1), (2, 1), (3, 1)]);
        assert_eq!(s.picks(2), vec![3, 2]);
        s.sched.update(&s.dests, Change::Reset);
        assert_eq!(s.picks(2), vec![3, 2]);
    }

    #[test]
    fn stale_cursor_acts_as_head_without_panicking() {
        let mut s = Svc::new("rr");
        s.add_all(&[(1, 1), (2, 1)]);
        assert_eq!(s.picks(1), vec![2]);
        // The list changes behind the scheduler's back (no update): no panic, scan from the head.
        let other = vec![rs(7, 1), rs(8, 1)];
        let input = crate::testutil::input_from("1.2.3.4", 1);
        assert_eq!(s.sched.schedule(&other, &input, 0), Some(0));
        assert_eq!(s.sched.schedule(&[], &input, 0), None);
    }
}
