//! TEMPORARY stand-in for rvs_config::ipvsadm until it lands (removed then).
#![allow(missing_docs)]

use std::net::SocketAddrV4;

use rvs_config::{Config, Method, Protocol, RealServer, Service};

#[derive(Debug, Clone)]
pub enum Command {
    AddService(Protocol, SocketAddrV4, String),
    DelService(Protocol, SocketAddrV4),
    Clear,
    AddServer(Protocol, SocketAddrV4, RealServer),
    EditServer(Protocol, SocketAddrV4, RealServer),
    DelServer(Protocol, SocketAddrV4, SocketAddrV4),
    Set(u32, u32, u32),
}

pub fn parse_args(args: &[&str]) -> Result<Command, String> {
    let mut op = None;
    let mut svc = None;
    let mut sched = "wlc".to_string();
    let mut rs: Option<SocketAddrV4> = None;
    let mut method = Method::Dr;
    let mut weight = 1;
    let mut it = args.iter();
    let addr = |s: Option<&&str>| -> Result<SocketAddrV4, String> {
        s.ok_or("missing address")?
            .parse()
            .map_err(|e| format!("bad address: {e}"))
    };
    while let Some(a) = it.next() {
        match *a {
            "-A" | "-D" | "-C" | "-a" | "-e" | "-d" => op = Some(*a),
            "--set" => {
                let mut n = || -> Result<u32, String> {
                    it.next()
                        .ok_or("missing")?
                        .parse()
                        .map_err(|e| format!("{e}"))
                };
                return Ok(Command::Set(n()?, n()?, n()?));
            }
            "-t" => svc = Some((Protocol::Tcp, addr(it.next())?)),
            "-u" => svc = Some((Protocol::Udp, addr(it.next())?)),
            "-s" => sched = it.next().ok_or("missing scheduler")?.to_string(),
            "-r" => rs = Some(addr(it.next())?),
            "-m" => method = Method::Nat,
            "-g" => method = Method::Dr,
            "-w" => {
                weight = it
                    .next()
                    .ok_or("missing weight")?
                    .parse()
                    .map_err(|e| format!("{e}"))?
            }
            o => return Err(format!("unknown option {o}")),
        }
    }
    let op = op.ok_or("no command")?;
    if op == "-C" {
        return Ok(Command::Clear);
    }
    let (p, s) = svc.ok_or("no service")?;
    let server = || -> Result<RealServer, String> {
        Ok(RealServer {
            address: rs.ok_or("no real server")?,
            method,
            weight,
        })
    };
    Ok(match op {
        "-A" => Command::AddService(p, s, sched),
        "-D" => Command::DelService(p, s),
        "-a" => Command::AddServer(p, s, server()?),
        "-e" => Command::EditServer(p, s, server()?),
        _ => Command::DelServer(p, s, rs.ok_or("no real server")?),
    })
}

pub fn apply(cfg: &mut Config, cmd: &Command) -> Result<(), String> {
    let find = |cfg: &mut Config, p: Protocol, s: SocketAddrV4| -> Result<usize, String> {
        cfg.services
            .iter()
            .position(|x| x.protocol == p && x.address == s)
            .ok_or_else(|| "No such service".to_string())
    };
    match cmd {
        Command::AddService(p, s, sched) => {
            if find(cfg, *p, *s).is_ok() {
                return Err("Service already exists".into());
            }
            cfg.services.push(Service {
                protocol: *p,
                address: *s,
                scheduler: sched.clone(),
                persistence: 0,
                real_servers: vec![],
            })
        }
        Command::DelService(p, s) => {
            let i = find(cfg, *p, *s)?;
            cfg.services.remove(i);
        }
        Command::Clear => cfg.services.clear(),
        Command::AddServer(p, s, r) => {
            let i = find(cfg, *p, *s)?;
            cfg.services[i].real_servers.push(r.clone());
        }
        Command::EditServer(p, s, r) => {
            let i = find(cfg, *p, *s)?;
            let x = cfg.services[i]
                .real_servers
                .iter_mut()
                .find(|x| x.address == r.address)
                .ok_or("No such destination")?;
            *x = r.clone();
        }
        Command::DelServer(p, s, r) => {
            let i = find(cfg, *p, *s)?;
            let v = &mut cfg.services[i].real_servers;
            let j = v
                .iter()
                .position(|x| x.address == *r)
                .ok_or("No such destination")?;
            v.remove(j);
        }
        Command::Set(..) => {}
    }
    Ok(())
}
