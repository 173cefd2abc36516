//! The clients of the three clouds against the real `cloud-emulator` binary, end to end
//! over HTTP: signing, the lifecycle, retries, terminal errors, idempotency,
//! authentication and the catalog.
//!
//! The scenarios every client goes through are written once (`scenarios.rs`) and run for
//! each cloud from its entry in the table (`contract.rs`: client, credentials, catalog,
//! requests, the codes and states it answers with); each cloud's module (`tencent.rs`,
//! `alibaba.rs`, `huawei.rs`) holds its entry and the scenarios only that cloud has.
//! Test names say which: `alibaba::contract::lifecycle` is the shared lifecycle on Alibaba,
//! `alibaba::batches_and_paging` is Alibaba's own (`cargo test --test provider_contract
//! alibaba::`).

#[path = "../support/mod.rs"]
mod support;

mod contract;
mod scenarios;

mod alibaba;
mod huawei;
mod tencent;
