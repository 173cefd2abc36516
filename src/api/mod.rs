//! The custom resources: `CloudCredential` and `CloudInstance` in
//! `compute.cloudinstance.io/v1alpha1`.

pub mod conditions;
#[allow(clippy::duplicated_attributes)] // several printcolumn(...) attributes are intended
pub mod credential;
#[allow(clippy::duplicated_attributes)]
pub mod instance;

pub use conditions::Condition;
pub use credential::{CloudCredential, CloudCredentialSpec, CloudCredentialStatus, Provider};
pub use instance::{CloudInstance, CloudInstanceSpec, CloudInstanceStatus};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// API group of both kinds.
pub const GROUP: &str = "compute.cloudinstance.io";

/// All CRDs of the product, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![CloudCredential::crd(), CloudInstance::crd()]
}

/// The CRDs as one multi-document YAML stream (what `crds/` holds and `crd` prints).
pub fn crds_yaml() -> String {
    crds()
        .iter()
        .map(|c| serde_yaml::to_string(c).expect("CRD serializes to YAML"))
        .collect::<Vec<_>>()
        .join("---\n")
}
