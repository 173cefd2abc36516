#![recursion_limit = "512"]
//! cloud-emulator: a LocalStack-style, wire-level emulator of cloud compute APIs.
//!
//! One HTTP port serves every emulated cloud ([`server::classify`] routes a request to a
//! cloud module) plus the `/_emulator/` control API ([`control`]). Cloud modules are thin
//! protocol layers (signatures, parameters, response shapes) over the shared, cloud-neutral
//! [`store`], [`calls`] counters, injected [`faults`] and the [`ratelimit`]er, all held by
//! [`app::AppState`].

pub mod alibaba;
pub mod app;
pub mod calls;
pub mod config;
pub mod control;
pub mod faults;
pub mod http;
pub mod huawei;
pub mod launch;
pub mod ratelimit;
pub mod server;
pub mod store;
pub mod tencent;

#[cfg(test)]
mod tests;
