//! The appliance: what the `confab` binary runs, in one folder. An engine
//! whose main namespace runs the configured services, the chat contract if
//! enabled, the server API and its HTTP twin, and the operator's tools
//! around them; an actix-web application can mount one too.
//!
//! - [`node`]: the [`Appliance`] and its builder: the data directory's
//!   database, the services and the chat wired to one engine.
//! - [`config`]: the settings (file, environment, command line) and
//!   [`check`], which refuses a bad one before anything starts.
//! - [`identity`]: JWTs checked at namespace CONNECT (and for the chat's
//!   HTTP endpoints).
//! - [`services`]: the seed services on the main namespace.
//! - [`api`]: the server API (emit, clients, disconnect, operations,
//!   notifications), and [`http`], its HTTP twin under `/api`.
//! - [`admin`]: the server side of the Socket.IO admin UI.
//! - [`health`], [`metrics`]: probes and Prometheus.
//! - [`data_dir`], [`shutdown`], [`logging`], [`body_deadline`]: the
//!   process around it.

pub mod admin;
pub mod api;
pub mod body_deadline;
pub mod check;
pub mod config;
pub mod data_dir;
pub mod health;
pub mod http;
pub mod identity;
mod list_setting;
pub mod logging;
pub mod metrics;
mod mount;
pub mod node;
pub mod services;
pub mod shutdown;

pub use node::{Appliance, ApplianceBuilder, ApplianceError};
