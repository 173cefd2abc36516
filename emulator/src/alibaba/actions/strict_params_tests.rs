//! The strict parameter check (`check_known_params`) against the SDK models' wire names.

use super::*;

fn params(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| (n.to_string(), "v".to_string()))
        .collect()
}

#[test]
fn region_id_is_unsupported_where_the_model_has_none() {
    for action in [
        "ModifyInstanceAttribute",
        "ReplaceSystemDisk",
        "ModifyInstanceSpec",
        "DescribeInstanceTypes",
        "DescribeRegions",
    ] {
        let e = check_known_params(action, &params(&["RegionId"])).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (400, "UnsupportedParameter"));
    }
    // Actions whose model has RegionId (or that are not checked strictly) accept it.
    for action in ["RunInstances", "DescribeInstances", "StartInstances"] {
        check_known_params(action, &params(&["RegionId"])).unwrap();
    }
}

#[test]
fn model_parameters_and_list_indexes_are_accepted() {
    check_known_params(
        "ModifyInstanceAttribute",
        &params(&[
            "InstanceId",
            "InstanceName",
            "SecurityGroupIds.1",
            "SecurityGroupIds.12",
            "HostName",
            "Action",
            "Version",
            "AccessKeyId",
            "Signature",
            "SignatureNonce",
            "Timestamp",
        ]),
    )
    .unwrap();
    check_known_params(
        "ModifyInstanceSpec",
        &params(&[
            "InstanceId",
            "InstanceType",
            "Disk.2.Category",
            "ClientToken",
        ]),
    )
    .unwrap();
    let e = check_known_params("ReplaceSystemDisk", &params(&["SystemDisk.Category"])).unwrap_err();
    assert_eq!(e.code, "UnsupportedParameter");
    assert_eq!(model_name("Arn.3.RoleType"), "Arn.N.RoleType");
    assert_eq!(model_name("SecurityGroupIds"), "SecurityGroupIds");
}
