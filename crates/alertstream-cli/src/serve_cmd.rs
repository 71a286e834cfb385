//! `serve`: the library's web view of a folder, until Ctrl-C (or
//! `--duration`); the address it listens on, and a warning when it is
//! reachable from other machines.

use crate::cli::ServeArgs;
use alertstream::serve::{is_loopback, Live, Server};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let server = start(&args.dir, args.listen, None)?;
    match args.duration {
        Some(seconds) => std::thread::sleep(Duration::from_secs_f64(seconds.max(0.0))),
        None => server.wait(),
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts the view and says where it is.
pub fn start(dir: &Path, listen: SocketAddr, live: Option<Live>) -> anyhow::Result<Server> {
    let server = Server::start(dir, listen, live)
        .with_context(|| format!("cannot serve {}", dir.display()))?;
    let addr = server.addr();
    if !is_loopback(&addr) {
        eprintln!(
            "alertstream: warning: the web view at {addr} has no authentication: anyone who \
             reaches this address can read the alerts"
        );
    }
    eprintln!("alertstream: serving {} at http://{addr}/", dir.display());
    Ok(server)
}
