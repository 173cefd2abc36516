//! The local control plane is a real kube-apiserver: CRDs get established, custom objects
//! round-trip through etcd, and RBAC is enforced.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, CustomResource, CustomResourceExt, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use support::cluster::{self, FIELD_MANAGER, TestNamespace};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "test.cloudinstance.io",
    version = "v1",
    kind = "Widget",
    namespaced
)]
struct WidgetSpec {
    size: u32,
    color: String,
}

#[tokio::test]
async fn crd_is_established_and_custom_objects_round_trip() {
    let client = cluster::admin_client().await;

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = Widget::crd();
    let name = crd.name_any();
    crds.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&crd),
    )
    .await
    .expect("server-side apply the Widget CRD");

    tokio::time::timeout(
        Duration::from_secs(60),
        await_condition(crds, &name, conditions::is_crd_established()),
    )
    .await
    .expect("CRD established within 60 s")
    .expect("watch the CRD");

    let ns = TestNamespace::new(&client, "widgets").await;
    let widgets: Api<Widget> = Api::namespaced(client.clone(), ns.name());
    let spec = WidgetSpec {
        size: 3,
        color: "teal".into(),
    };
    // The API server can answer 404 for a just-established CRD for a moment longer
    // while its discovery/storage catches up; retry briefly.
    let mut attempt = 0;
    let created = loop {
        match widgets
            .create(&PostParams::default(), &Widget::new("first", spec.clone()))
            .await
        {
            Ok(w) => break w,
            Err(kube::Error::Api(s)) if s.code == 404 && attempt < 50 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("create Widget: {e}"),
        }
    };
    assert!(created.uid().is_some(), "server assigned a uid");

    let read = widgets.get("first").await.expect("read the Widget back");
    assert_eq!(read.spec, spec);
    assert_eq!(read.namespace().as_deref(), Some(ns.name()));

    // The same object through kubectl, to prove the helper talks to the same cluster.
    let color = cluster::kubectl(&[
        "get",
        "widgets.test.cloudinstance.io",
        "first",
        "-n",
        ns.name(),
        "-o",
        "jsonpath={.spec.color}",
    ])
    .await;
    assert_eq!(color, "teal");

    ns.delete().await;
}

#[tokio::test]
async fn rbac_denies_an_unbound_service_account_until_a_role_is_bound() {
    let client = cluster::admin_client().await;
    let ns = TestNamespace::new(&client, "rbac").await;
    let sa_name = "reader";

    Api::<ServiceAccount>::namespaced(client.clone(), ns.name())
        .create(
            &PostParams::default(),
            &ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(sa_name.into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .expect("create ServiceAccount");

    let as_sa = cluster::service_account_client(ns.name(), sa_name).await;
    let sa_configmaps: Api<ConfigMap> = Api::namespaced(as_sa, ns.name());

    match sa_configmaps.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 403, "expected Forbidden, got {s:?}");
            assert!(
                s.message
                    .contains(&format!("system:serviceaccount:{}:{sa_name}", ns.name())),
                "denial names the impersonated ServiceAccount: {}",
                s.message
            );
        }
        Ok(list) => panic!(
            "unbound ServiceAccount listed {} configmaps: RBAC is not enforced",
            list.items.len()
        ),
        Err(e) => panic!("unexpected error: {e}"),
    }

    let roles: Api<Role> = Api::namespaced(client.clone(), ns.name());
    roles
        .create(
            &PostParams::default(),
            &Role {
                metadata: ObjectMeta {
                    name: Some("configmap-reader".into()),
                    ..Default::default()
                },
                rules: Some(vec![PolicyRule {
                    api_groups: Some(vec![String::new()]),
                    resources: Some(vec!["configmaps".into()]),
                    verbs: vec!["list".into()],
                    ..Default::default()
                }]),
            },
        )
        .await
        .expect("create Role");
    Api::<RoleBinding>::namespaced(client.clone(), ns.name())
        .create(
            &PostParams::default(),
            &RoleBinding {
                metadata: ObjectMeta {
                    name: Some("reader-reads-configmaps".into()),
                    ..Default::default()
                },
                role_ref: RoleRef {
                    api_group: Some("rbac.authorization.k8s.io".into()),
                    kind: "Role".into(),
                    name: "configmap-reader".into(),
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".into(),
                    name: sa_name.into(),
                    namespace: Some(ns.name().into()),
                    ..Default::default()
                }]),
            },
        )
        .await
        .expect("create RoleBinding");

    // The RBAC authorizer works from an informer cache: allow a short propagation delay.
    let mut last_err = None;
    for _ in 0..50 {
        match sa_configmaps.list(&ListParams::default()).await {
            Ok(_) => {
                last_err = None;
                break;
            }
            Err(e) => {
                last_err = Some(e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert!(
        last_err.is_none(),
        "bound ServiceAccount still cannot list configmaps: {last_err:?}"
    );

    // The binding grants list only, and only in this namespace.
    match Api::<ConfigMap>::all(cluster::service_account_client(ns.name(), sa_name).await)
        .list(&ListParams::default())
        .await
    {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403),
        other => panic!("cluster-wide list must be forbidden, got {other:?}"),
    }

    ns.delete().await;
}
