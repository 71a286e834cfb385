//! A live web view of a folder of saved alerts (feature `serve`): the
//! list (newest first, thumbnails, sorting, search, `--where` filters),
//! an alert's page (picture, fields, portals, the object's other alerts),
//! new alerts shown as a stream saves them; and, beside a running stream,
//! `/metrics` and `/health`. The page's assets are embedded: it works with
//! no internet access. It listens on 127.0.0.1 unless told otherwise.
//!
//! ```no_run
//! use alertstream::serve::{Server, DEFAULT_LISTEN};
//!
//! let server = Server::start("alertDB".as_ref(), DEFAULT_LISTEN.parse().unwrap(), None)?;
//! println!("http://{}", server.addr());
//! server.wait();
//! # Ok::<(), alertstream::Error>(())
//! ```

mod index;
mod metrics;
mod parquet;
mod routes;

pub use index::{Index, Query, Row, SortBy};
pub use metrics::{Health, Live};

use crate::error::{Error, Result};
use std::net::SocketAddr;
use std::path::Path;

/// Where the view listens unless told otherwise: this machine only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// A running web view.
pub struct Server {
    addr: SocketAddr,
    thread: std::thread::JoinHandle<()>,
}

impl Server {
    /// Indexes `dir` and serves it on `listen` from a thread of its own;
    /// `live` adds a running stream's `/metrics` and `/health`.
    pub fn start(dir: &Path, listen: SocketAddr, live: Option<Live>) -> Result<Server> {
        if !dir.is_dir() {
            return Err(Error::Config(format!(
                "{} is not a folder of saved alerts",
                dir.display()
            )));
        }
        let listener = std::net::TcpListener::bind(listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| Error::Config(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Config(format!("cannot listen on {listen}: {e}")))?;
        let app = routes::App {
            index: Index::open(dir)?,
            live,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start the web server: {e}")))?;
        let thread = std::thread::Builder::new()
            .name("serve".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    if let Err(e) = axum::serve(listener, routes::router(app)).await {
                        log::error!("the web view stopped: {e}");
                    }
                });
            })
            .map_err(|e| Error::io(dir, e))?;
        Ok(Server { addr, thread })
    }

    /// The address it listens on (the port chosen when given port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        let _ = self.thread.join();
    }
}

/// True for an address only this machine reaches.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
