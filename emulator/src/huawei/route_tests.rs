//! Routing of paths to operations, and the per-service project-mismatch code.

use super::*;

#[test]
fn routes() {
    let p = "/v1/0a1b/cloudservers";
    assert_eq!(
        resolve(&Method::POST, p, b"{}").unwrap().action,
        "CreatePostPaidServers"
    );
    assert_eq!(
        resolve(
            &Method::POST,
            "/v1/0a1b/cloudservers/action",
            br#"{"os-stop":{}}"#
        )
        .unwrap()
        .action,
        "BatchStopServers"
    );
    assert_eq!(
        resolve(&Method::GET, "/v1/0a1b/cloudservers/detail", b"")
            .unwrap()
            .op,
        Op::ListServersDetails
    );
    let r = resolve(&Method::DELETE, "/v2.1/0a1b/servers/abc", b"").unwrap();
    assert_eq!(
        (r.op, r.action.as_str()),
        (Op::NovaDeleteServer("abc".into()), "NovaDeleteServer")
    );
    let r = resolve(
        &Method::POST,
        "/v2/0a1b/cloudservers/abc/reinstallos",
        br#"{"os-reinstall":{}}"#,
    )
    .unwrap();
    assert_eq!(
        (r.op, r.action.as_str()),
        (
            Op::ReinstallOs("abc".into()),
            "ReinstallServerWithCloudInit"
        )
    );
    let r = resolve(&Method::GET, "/v1/0a1b/cloudservers/resize_flavors", b"").unwrap();
    assert_eq!(
        (r.op, r.action.as_str()),
        (Op::ListResizeFlavors, "ListResizeFlavors")
    );
    assert_eq!(
        resolve(&Method::GET, "/v1/0a1b/cloudservers/abc", b"")
            .unwrap()
            .op,
        Op::ShowServer("abc".into())
    );
    assert_eq!(
        resolve(
            &Method::POST,
            "/v2.1/0a1b/servers/x/action",
            br#"{"removeSecurityGroup":{"name":"a"}}"#
        )
        .unwrap()
        .action,
        "NovaDisassociateSecurityGroup"
    );
    assert!(resolve(&Method::DELETE, "/v1/0a1b/cloudservers", b"").is_none());
    let r = resolve(
        &Method::PUT,
        "/v3/0a1b/ports/p1/insert-security-groups",
        b"{}",
    )
    .unwrap();
    assert_eq!(
        (r.op, r.action.as_str(), r.project.as_deref()),
        (
            Op::AddSecurityGroups("p1".into()),
            "AddSecurityGroups",
            Some("0a1b")
        )
    );
    assert_eq!(
        resolve(
            &Method::PUT,
            "/v3/0a1b/ports/p1/remove-security-groups",
            b"{}"
        )
        .unwrap()
        .action,
        "RemoveSecurityGroups"
    );
    assert_eq!(
        resolve(&Method::GET, "/v3/0a1b/ports/p1", b"").unwrap().op,
        Op::ShowPort("p1".into())
    );
    assert_eq!(
        resolve(&Method::GET, "/v2/cloudimages", b"")
            .unwrap()
            .project,
        None
    );
}

/// A URL project that is not the token's: Ecs.0023 on ECS, VPC.0007 "urlTenantId is not
/// equal tokenTenantId" (400) on the VPC port APIs (vpc_api_0003).
#[test]
fn project_mismatch_is_the_services_code() {
    let e = project_mismatch(&Op::AddSecurityGroups("p".into()), "0a1b");
    assert_eq!(
        (e.status, e.code.as_str(), e.style),
        (400, "VPC.0007", Style::Gateway)
    );
    let e = project_mismatch(&Op::ListServersDetails, "0a1b");
    assert_eq!(
        (e.status, e.code.as_str(), e.style),
        (400, "Ecs.0023", Style::Ecs)
    );
}
