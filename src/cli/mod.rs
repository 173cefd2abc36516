//! The subcommands of the `cloudinstance-controller` binary, one module each, and what
//! they share (durations, logging, cloud access). Part of the binary, not the library.

pub mod catalog;
pub mod cloud;
pub mod duration;
pub mod instances;
pub mod logging;
pub mod run;
