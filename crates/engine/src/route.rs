//! Route lookup: the director's connected prefixes and static routes, longest prefix wins; one
//! table per address family ([`RouteTable`] for IPv4, [`RouteTable6`] for IPv6).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

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

/// One IPv6 route (see [`Route`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route6 {
    /// Destination prefix.
    pub prefix: Ipv6Net,
    /// Outgoing port.
    pub port: PortIdx,
    /// Next hop (global or link-local), or `None` for on-link destinations.
    pub via: Option<Ipv6Addr>,
}

/// Where an IPv6 packet goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextHop6 {
    /// Outgoing port.
    pub port: PortIdx,
    /// The address whose MAC the frame is sent to (resolved by Neighbor Discovery).
    pub addr: Ipv6Addr,
}

/// The IPv6 twin of [`RouteTable`]: a list sorted most specific first, scanned with 128-bit
/// masks.
#[derive(Clone, Debug, Default)]
pub struct RouteTable6 {
    /// (network, mask, route), most specific first.
    routes: Vec<(u128, u128, Route6)>,
}

impl RouteTable6 {
    /// A table of `routes`; when two have the same prefix the first one given wins.
    pub fn new(mut routes: Vec<Route6>) -> Self {
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.prefix_len()));
        RouteTable6 {
            routes: routes
                .into_iter()
                .map(|r| {
                    (
                        u128::from(r.prefix.network()),
                        u128::from(r.prefix.netmask()),
                        r,
                    )
                })
                .collect(),
        }
    }

    /// The route for `dst`, most specific first.
    #[inline]
    pub fn lookup(&self, dst: Ipv6Addr) -> Option<NextHop6> {
        let d = u128::from(dst);
        self.routes
            .iter()
            .find(|(net, mask, _)| d & mask == *net)
            .map(|(_, _, r)| NextHop6 {
                port: r.port,
                addr: r.via.unwrap_or(dst),
            })
    }

    /// The routes, most specific first.
    pub fn routes(&self) -> impl Iterator<Item = &Route6> + '_ {
        self.routes.iter().map(|(_, _, r)| r)
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

    #[test]
    fn ipv6_longest_prefix_wins_and_connected_routes_are_on_link() {
        let r6 = |p: &str, port: PortIdx, via: Option<&str>| Route6 {
            prefix: p.parse().unwrap(),
            port,
            via: via.map(|v| v.parse().unwrap()),
        };
        let t = RouteTable6::new(vec![
            r6("::/0", 0, Some("fe80::1")),
            r6("2001:2:0:1::/64", 1, None),
            r6("2001:2:0:1:8000::/65", 2, Some("2001:2:0:1::fe")),
        ]);
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        assert_eq!(
            t.lookup(a("2001:2:0:1::10")),
            Some(NextHop6 {
                port: 1,
                addr: a("2001:2:0:1::10")
            })
        );
        assert_eq!(
            t.lookup(a("2001:2:0:1:8000::10")),
            Some(NextHop6 {
                port: 2,
                addr: a("2001:2:0:1::fe")
            })
        );
        assert_eq!(
            t.lookup(a("2001:db8::9")),
            Some(NextHop6 {
                port: 0,
                addr: a("fe80::1")
            })
        );
        assert_eq!(t.routes().count(), 3);
        let none = RouteTable6::new(vec![r6("2001:2::/64", 0, None)]);
        assert_eq!(none.lookup(a("2001:3::1")), None);
    }
}
