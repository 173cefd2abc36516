//! cloudinstance-controller: a Kubernetes controller for virtual machines on Tencent Cloud,
//! Alibaba Cloud and Huawei Cloud.

pub mod api;
pub mod controller;
pub mod provider;
pub mod text;
