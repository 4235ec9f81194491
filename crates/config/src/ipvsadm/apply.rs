//! What a command does to the table, as kernel IPVS does it (`ip_vs_ctl.c`), with ipvsadm's
//! words for the kernel's refusals (libipvs `ipvs_strerror`).

use super::{Command, IpvsadmError, ServerSpec, ServiceSpec};
use crate::{validate, Config, RealServer, Service, SCHEDULERS};

type Result<T> = std::result::Result<T, IpvsadmError>;

// libipvs ipvs_strerror, per call and errno.
const SERVICE_EXISTS: &str = "Service already exists"; // ipvs_add_service, EEXIST
const NO_SUCH_SERVICE: &str = "No such service"; // ipvs_update/del/zero_service, ESRCH
const NO_SCHEDULER: &str = "Scheduler or persistence engine not found"; // ENOENT
const SERVICE_NOT_DEFINED: &str = "Service not defined"; // ipvs_*_dest, ESRCH
const DEST_EXISTS: &str = "Destination already exists"; // ipvs_add_dest, EEXIST
const NO_SUCH_DEST: &str = "No such destination"; // ipvs_update/del_dest, ENOENT
/// `strerror(ERANGE)`: ipvs_strerror has no entry for it.
const OUT_OF_RANGE: &str = "Numerical result out of range";

/// Applies one command to the table `cfg`, as the kernel would, or refuses it and leaves `cfg`
/// unchanged.
///
/// - `-A` appends the service; `-E` replaces its scheduler, flags, persistence and `-o` (what
///   ipvsadm sends), keeping its real servers and rvs-only settings (health check, LIP pool).
/// - `-a` appends the real server (the kernel's list order is the reverse; the engine handles
///   that); `-e` replaces its method, weight and thresholds; `-d` removes it.
/// - `-C` removes every service; `--set` changes the timeouts that are not 0 (kernel
///   `ip_vs_set_timeout`: "if (u->tcp_timeout)…").
/// - Commands that change nothing (`-L`, `-S`, `-R`, `-h`, `-v`, `-Z`) succeed without
///   looking, except `-Z` of a service that does not exist ("No such service").
///
/// A changed service is validated as [`crate::parse`] would: a VIP on a director address, a DR
/// real server off-link, a family mismatch… are refused with the validation's message.
pub fn apply(cfg: &mut Config, cmd: &Command) -> Result<()> {
    match cmd {
        Command::AddService(spec) => {
            // do_ip_vs_set_ctl: an existing service is EEXIST before the scheduler is looked up.
            if cfg.service_index(&spec.key).is_some() {
                return Err(IpvsadmError::Refused(SERVICE_EXISTS));
            }
            check_scheduler(&spec.scheduler)?;
            let mut s = Service::new(spec.key, &spec.scheduler);
            set_service_options(&mut s, spec)?;
            let s = checked(cfg, None, &s)?;
            cfg.services.push(s);
        }
        Command::EditService(spec) => {
            let i = cfg
                .service_index(&spec.key)
                .ok_or(IpvsadmError::Refused(NO_SUCH_SERVICE))?;
            check_scheduler(&spec.scheduler)?;
            let mut s = cfg.services[i].clone();
            set_service_options(&mut s, spec)?;
            cfg.services[i] = checked(cfg, Some(i), &s)?;
        }
        Command::DeleteService(key) => {
            let i = cfg
                .service_index(key)
                .ok_or(IpvsadmError::Refused(NO_SUCH_SERVICE))?;
            cfg.services.remove(i);
        }
        Command::Clear => cfg.services.clear(),
        Command::AddServer(spec) => {
            let i = server_service(cfg, spec)?;
            let s = &cfg.services[i];
            if s.real_servers.iter().any(|r| r.address == spec.server) {
                return Err(IpvsadmError::Refused(DEST_EXISTS));
            }
            let mut s = s.clone();
            s.real_servers.push(RealServer {
                address: spec.server,
                method: spec.method,
                weight: spec.weight,
                upper_threshold: spec.upper_threshold,
                lower_threshold: spec.lower_threshold,
            });
            cfg.services[i] = checked(cfg, Some(i), &s)?;
        }
        Command::EditServer(spec) => {
            let i = server_service(cfg, spec)?;
            let mut s = cfg.services[i].clone();
            let r = s
                .real_servers
                .iter_mut()
                .find(|r| r.address == spec.server)
                .ok_or(IpvsadmError::Refused(NO_SUCH_DEST))?;
            r.method = spec.method;
            r.weight = spec.weight;
            r.upper_threshold = spec.upper_threshold;
            r.lower_threshold = spec.lower_threshold;
            cfg.services[i] = checked(cfg, Some(i), &s)?;
        }
        Command::DeleteServer { service, server } => {
            let i = cfg
                .service_index(service)
                .ok_or(IpvsadmError::Refused(SERVICE_NOT_DEFINED))?;
            let rs = &mut cfg.services[i].real_servers;
            let j = rs
                .iter()
                .position(|r| r.address == *server)
                .ok_or(IpvsadmError::Refused(NO_SUCH_DEST))?;
            rs.remove(j);
        }
        Command::SetTimeouts { tcp, tcpfin, udp } => {
            let t = &mut cfg.timeouts;
            for (field, v) in [
                (&mut t.tcp, tcp),
                (&mut t.tcpfin, tcpfin),
                (&mut t.udp, udp),
            ] {
                if *v != 0 {
                    *field = *v;
                }
            }
        }
        Command::Zero(Some(key)) => {
            if cfg.service_index(key).is_none() {
                return Err(IpvsadmError::Refused(NO_SUCH_SERVICE));
            }
        }
        Command::Zero(None)
        | Command::List(_)
        | Command::Save { .. }
        | Command::Restore
        | Command::Help
        | Command::Version => {}
    }
    Ok(())
}

/// The service of `-a`/`-e` and the kernel's threshold check (`ip_vs_add_dest`,
/// `ip_vs_edit_dest`: "lower threshold is higher than upper threshold", -ERANGE), in the
/// kernel's order: service lookup first.
fn server_service(cfg: &Config, spec: &ServerSpec) -> Result<usize> {
    let i = cfg
        .service_index(&spec.service)
        .ok_or(IpvsadmError::Refused(SERVICE_NOT_DEFINED))?;
    if spec.lower_threshold > spec.upper_threshold {
        return Err(IpvsadmError::Refused(OUT_OF_RANGE));
    }
    Ok(i)
}

fn check_scheduler(name: &str) -> Result<()> {
    if SCHEDULERS.contains(&name) {
        Ok(())
    } else {
        Err(IpvsadmError::Refused(NO_SCHEDULER))
    }
}

/// What `-A`/`-E` set (ipvsadm sends every field; unset ones at their defaults).
fn set_service_options(s: &mut Service, spec: &ServiceSpec) -> Result<()> {
    if !spec.sched_flags.is_empty() && !matches!(spec.scheduler.as_str(), "sh" | "mh") {
        return Err(IpvsadmError::Unsupported(format!(
            "scheduler flags (flag-1, flag-2) mean something only to sh and mh in rvs, not to {}",
            spec.scheduler
        )));
    }
    s.scheduler = spec.scheduler.clone();
    s.sched_flags = spec.sched_flags;
    s.persistence = spec.persistence.unwrap_or(0);
    // Without persistence the kernel keeps the netmask but never uses it; the table keeps the
    // default so that it stays a valid configuration (which refuses a netmask without
    // persistence).
    s.persistence_prefix_len = match spec.persistence {
        Some(_) => spec.persistence_prefix_len,
        None if s.key.is_ipv6() => 128,
        None => 32,
    };
    s.one_packet = spec.one_packet;
    Ok(())
}

fn checked(cfg: &Config, index: Option<usize>, s: &Service) -> Result<Service> {
    validate::check_service(cfg, index, s).map_err(|e| IpvsadmError::Invalid(e.to_string()))
}
