//! Stage 1, resolve: the objects an instance refers to. Its CloudCredential becomes a
//! [`CloudHandle`] (read from the controller's cache, its Secret read only when the cached
//! handle is stale); its login Secret becomes a password, only when a step needs one.
//! Anything missing or not ready is a [`Problem`] for `Synced`.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::runtime::reflector::ObjectRef;

use crate::api::CloudCredential;
use crate::api::conditions::{self, READY};
use crate::api::instance::CloudInstanceSpec;
use crate::controller::cloud::{
    self, CloudHandle, CredentialError, LOGIN_SECRET_LABEL, is_marked, secret_value,
};
use crate::controller::context::Context;
use crate::controller::problem::Problem;
use crate::provider::SecretString;

/// Find the credential `cred_name` of namespace `ns` and turn it into a client.
pub async fn handle(ctx: &Context, ns: &str, cred_name: &str) -> Result<Arc<CloudHandle>, Problem> {
    let cred = ctx
        .credentials
        .get(&ObjectRef::<CloudCredential>::new(cred_name).within(ns))
        .ok_or_else(|| {
            let shard = match &ctx.settings.label_selector {
                Some(l) => format!(
                    " (or it does not match this controller's --label-selector {l}: label the \
                     credential and its Secret like the instances of this shard)"
                ),
                None => String::new(),
            };
            Problem::new(
                "CredentialNotFound",
                format!("CloudCredential {cred_name} not found in namespace {ns}{shard}"),
            )
        })?;
    let cstatus = cred.status.clone().unwrap_or_default();
    match conditions::find(&cstatus.conditions, READY) {
        Some(c) if c.is_true() => {}
        Some(c) => {
            return Err(Problem::new(
                "CredentialNotReady",
                format!(
                    "CloudCredential {cred_name} is not ready: {}: {}",
                    c.reason, c.message
                ),
            ));
        }
        None => {
            return Err(Problem::new(
                "CredentialNotReady",
                format!("CloudCredential {cred_name} has not been verified yet"),
            ));
        }
    }
    let key = format!("{ns}/{cred_name}");
    let version = cloud::version_of(&cred, cstatus.secret_version.as_deref().unwrap_or(""));
    if let Some(h) = ctx.handles.cached(&key, &version) {
        return Ok(h);
    }
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let secret = secrets
        .get_opt(&cred.spec.secret_ref.name)
        .await
        .map_err(|e| Problem::secret_read(&e))?
        .ok_or_else(|| {
            Problem::from(&CredentialError::SecretNotFound(
                cred.spec.secret_ref.name.clone(),
            ))
        })?;
    ctx.handles
        .build(&key, &cred, &secret)
        .map_err(|e| Problem::from(&e))
}

/// The login password of `login.passwordSecretRef`, if the spec names one. Only a Secret
/// marked as a login Secret is read: otherwise a tenant could make any Secret of the
/// namespace the password of a VM they can log into.
pub async fn password(
    ctx: &Context,
    ns: &str,
    spec: &CloudInstanceSpec,
) -> Result<Option<SecretString>, Problem> {
    let Some(r) = spec
        .login
        .as_ref()
        .and_then(|l| l.password_secret_ref.as_ref())
    else {
        return Ok(None);
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let meta = secrets
        .get_metadata_opt(&r.name)
        .await
        .map_err(|e| Problem::secret_read(&e))?;
    if let Some(m) = &meta
        && !is_marked(&m.metadata, LOGIN_SECRET_LABEL)
    {
        let e = CredentialError::SecretNotMarked {
            secret: r.name.clone(),
            label: LOGIN_SECRET_LABEL,
        };
        return Err(Problem::new("PasswordSecretNotMarked", e.to_string()));
    }
    let s = secrets
        .get_opt(&r.name)
        .await
        .map_err(|e| Problem::secret_read(&e))?
        .ok_or_else(|| {
            Problem::new(
                "PasswordSecretNotFound",
                format!("Secret {} (login.passwordSecretRef) not found", r.name),
            )
        })?;
    if !is_marked(&s.metadata, LOGIN_SECRET_LABEL) {
        return Err(Problem::new(
            "PasswordSecretNotMarked",
            format!("Secret {} lost its label {LOGIN_SECRET_LABEL}", r.name),
        ));
    }
    secret_value(&s, &r.key)
        .map(|v| Some(SecretString::new(v)))
        .ok_or_else(|| {
            Problem::new(
                "PasswordSecretKeyMissing",
                format!(
                    "Secret {} has no key {:?} (login.passwordSecretRef.key)",
                    r.name, r.key
                ),
            )
        })
}
