//! Volume rules of the create APIs: `iops` is required for GPSSD2 and ESSD2 and cannot be
//! set for other types, `throughput` likewise for GPSSD2 (SDK huaweicloudsdkecs/v2/model/
//! post_paid_server_root_volume.py, post_paid_server_data_volume.py): Ecs.0005.

use serde_json::{Value, json};

use super::actions::{self, Ctx};
use super::{HwError, Op};
use crate::app::AppState;
use crate::config::{Accounts, HUAWEI_DEMO_KEY_ID, HUAWEI_DEMO_PROJECT, Provider, Settings};
use crate::store::{Store, now_ms};

fn create(root: Value, data: Value) -> Result<(), HwError> {
    let app = AppState::new(Accounts::demo(), Settings::default(), Store::new(), None);
    let accounts = Accounts::demo();
    let account = accounts
        .find(Provider::Huawei, HUAWEI_DEMO_KEY_ID)
        .unwrap()
        .clone();
    let body = json!({"server": {
        "imageRef": "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61",
        "flavorRef": "s6.medium.2",
        "name": "vol",
        "vpcid": "0f3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
        "nics": [{"subnet_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}],
        "root_volume": root,
        "data_volumes": data,
        "availability_zone": "cn-north-4a",
        "adminPass": "Sdk-Passw0rd!",
    }});
    let bytes = serde_json::to_vec(&body).unwrap();
    let ctx = Ctx {
        app: &app,
        account: &account,
        project: HUAWEI_DEMO_PROJECT,
        region: "cn-north-4",
        query: &[],
        body: &bytes,
        client_token: None,
        request_id: "req",
        now: now_ms(),
        launch_failed: false,
    };
    actions::run(&Op::CreateServers { v11: false }, &ctx).map(|_| ())
}

fn refused(r: Result<(), HwError>, field: &str) {
    let e = r.expect_err("refused");
    assert_eq!((e.status, e.code.as_str()), (400, "Ecs.0005"), "{e:?}");
    assert!(e.message.contains(field), "{e:?}");
}

#[test]
fn gpssd2_and_essd2_need_iops_and_gpssd2_throughput() {
    let ok = json!({"volumetype": "SSD", "size": 40});
    // GPSSD2: iops and throughput
    refused(create(json!({"volumetype": "GPSSD2"}), json!([])), "iops");
    refused(
        create(json!({"volumetype": "GPSSD2", "iops": 3000}), json!([])),
        "throughput",
    );
    create(
        json!({"volumetype": "GPSSD2", "iops": 3000, "throughput": 125}),
        json!([]),
    )
    .expect("GPSSD2 with iops and throughput");
    // ESSD2 data volume: iops only
    refused(
        create(ok.clone(), json!([{"volumetype": "ESSD2", "size": 100}])),
        "iops",
    );
    refused(
        create(
            ok.clone(),
            json!([{"volumetype": "ESSD2", "size": 100, "iops": 3000, "throughput": 125}]),
        ),
        "throughput",
    );
    create(
        ok.clone(),
        json!([{"volumetype": "ESSD2", "size": 100, "iops": 3000}]),
    )
    .expect("ESSD2 with iops");
    // other types cannot set them
    refused(
        create(json!({"volumetype": "SSD", "iops": 3000}), json!([])),
        "iops",
    );
    create(ok, json!([])).expect("SSD");
}
