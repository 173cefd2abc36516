//! Shared support code for the integration tests in `tests/*.rs`.
//!
//! Each test binary declares `mod support;` and uses the parts it needs.
#![allow(dead_code)]

pub mod campaign;
pub mod cluster;
pub mod controller;
pub mod emulator;
pub mod fixtures;
pub mod forensics;
pub mod lifecycle;
pub mod scenario;
