//! IPv4 route lookup: the director's connected prefixes and static routes, longest prefix wins.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::director::PortIdx;

/// One route: traffic for `prefix` leaves through `port`, to `via` or, when absent, directly to
/// the destination (a connected prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// Destination prefix.
    pub prefix: Ipv4Net,
    /// Outgoing port.
    pub port: PortIdx,
    /// Next hop, or `None` for on-link destinations.
    pub via: Option<Ipv4Addr>,
}

/// Where a packet for some destination goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextHop {
    /// Outgoing port.
    pub port: PortIdx,
    /// The address whose MAC the frame is sent to.
    pub addr: Ipv4Addr,
}

/// A small longest-prefix-match table. Directors carry a handful of routes (connected
/// prefixes plus a default), so a scan of a list sorted by prefix length, most specific first,
/// touches one or two cache lines.
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// A table of `routes`; when two have the same prefix the first one given wins.
    pub fn new(mut routes: Vec<Route>) -> Self {
        // Stable sort keeps the given order among equal lengths: connected routes first.
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.prefix_len()));
        RouteTable { routes }
    }

    /// The route for `dst`, most specific first.
    #[inline]
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<NextHop> {
        let d = u32::from(dst);
        self.routes
            .iter()
            .find(|r| (d & u32::from(r.prefix.netmask())) == u32::from(r.prefix.network()))
            .map(|r| NextHop {
                port: r.port,
                addr: r.via.unwrap_or(dst),
            })
    }

    /// The routes, most specific first.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(p: &str, port: PortIdx, via: Option<&str>) -> Route {
        Route {
            prefix: p.parse().unwrap(),
            port,
            via: via.map(|v| v.parse().unwrap()),
        }
    }

    #[test]
    fn longest_prefix_wins_and_connected_routes_are_on_link() {
        let t = RouteTable::new(vec![
            r("0.0.0.0/0", 0, Some("198.18.0.254")),
            r("198.18.1.0/24", 1, None),
            r("198.18.1.128/25", 2, Some("198.18.1.1")),
        ]);
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(
            t.lookup(a("198.18.1.10")),
            Some(NextHop {
                port: 1,
                addr: a("198.18.1.10")
            })
        );
        assert_eq!(
            t.lookup(a("198.18.1.200")),
            Some(NextHop {
                port: 2,
                addr: a("198.18.1.1")
            })
        );
        assert_eq!(
            t.lookup(a("203.0.113.9")),
            Some(NextHop {
                port: 0,
                addr: a("198.18.0.254")
            })
        );
    }

    #[test]
    fn no_default_route_means_no_route() {
        let t = RouteTable::new(vec![r("198.18.1.0/24", 0, None)]);
        assert_eq!(t.lookup("198.18.2.1".parse().unwrap()), None);
    }
}
