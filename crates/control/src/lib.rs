//! rvsd's control plane, without DPDK: the versioned protocol rvsadm speaks over a Unix socket
//! ([`protocol`], documented in `PROTOCOL.md`), its server ([`server`]) and client
//! ([`client`]), IPVS's rate estimator ([`estimator`]), Prometheus metrics ([`metrics`]) and
//! keepalived-like health checks ([`health`]).
//!
//! rvsd implements [`server::Handler`] over its running table and hands it to
//! [`server::serve`]; rvsadm is a [`client::Client`].

pub mod client;
pub mod estimator;
pub mod health;
pub mod metrics;
pub mod protocol;
pub mod server;

pub use client::{Client, ClientError};
pub use estimator::{Estimator, Totals, ESTIMATOR_INTERVAL};
pub use health::{HealthChecker, Target};
pub use protocol::{
    ConnEntry, ControlError, Health, Rates, RealServerEntry, Request, Response, ServiceEntry,
    Stats, Table, Timeouts, PROTOCOL_VERSION,
};
pub use server::{serve, Handler};

use rvs_config::ipvsadm::{self, Command};
use rvs_config::Config;

/// What a [`Handler::apply`] does with its arguments: parses them as ipvsadm does and applies
/// the command to `cfg` (unchanged on error), returning the command so that the caller can
/// publish the change (and, for `-Z` and `--set`, act on it). The error is ipvsadm's message
/// and exit status.
pub fn apply_args(cfg: &mut Config, args: &[String]) -> Result<Command, ControlError> {
    let cmd = ipvsadm::parse_args(args)?;
    ipvsadm::apply(cfg, &cmd)?;
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn apply_args_parses_applies_and_refuses_like_ipvsadm() {
        let mut cfg = rvs_config::parse(
            "[[ports]]\nname = \"p\"\ndevice = \"net_null0\"\naddresses = [\"198.18.0.1/24\"]\n",
        )
        .unwrap();
        let cmd = apply_args(&mut cfg, &args("-A -t 198.18.0.100:80 -s rr")).unwrap();
        assert!(matches!(cmd, Command::AddService(_)));
        assert_eq!(cfg.services.len(), 1);
        let e = apply_args(&mut cfg, &args("-A -t 198.18.0.100:80 -s rr")).unwrap_err();
        assert_eq!(
            e,
            ControlError {
                message: "Service already exists".into(),
                exit_code: 255
            }
        );
        let e = apply_args(
            &mut cfg,
            &args("-a -t 198.18.0.100:80 -r 198.18.0.10 -w 70000"),
        )
        .unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.exit_code),
            ("illegal weight specified", 2)
        );
        assert_eq!(cfg.services[0].real_servers.len(), 0);
    }
}
