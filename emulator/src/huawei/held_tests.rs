//! Statuses held by the cloud (SHELVED, SHELVED_OFFLOADED, PAUSED, SUSPENDED, ERROR,
//! MIGRATING, VERIFY_RESIZE, REVERT_RESIZE, SOFT_DELETED; API
//! https://support.huaweicloud.com/api-ecs/ecs_08_0002.html): rendered as the status table
//! says, start/stop/reboot/resize/changeos refused with Ecs.0100, deletion of an ERROR
//! server allowed, and the server back once released.

use serde_json::{Value, json};

use super::actions::{self, Ctx};
use super::{HwError, Op, held};
use crate::app::AppState;
use crate::config::{
    Accounts, Delays, HUAWEI_DEMO_KEY_ID, HUAWEI_DEMO_PROJECT, Provider, Settings,
};
use crate::store::{Store, now_ms};

fn run(app: &AppState, op: Op, body: Value, query: &[(String, String)]) -> Result<Value, HwError> {
    let accounts = Accounts::demo();
    let account = accounts
        .find(Provider::Huawei, HUAWEI_DEMO_KEY_ID)
        .unwrap()
        .clone();
    let bytes = serde_json::to_vec(&body).unwrap();
    let ctx = Ctx {
        app,
        account: &account,
        project: HUAWEI_DEMO_PROJECT,
        region: "cn-north-4",
        query,
        body: &bytes,
        client_token: None,
        request_id: "req",
        now: now_ms(),
        launch_failed: false,
    };
    actions::run(&op, &ctx).map(|a| a.body.unwrap_or(Value::Null))
}

fn server(app: &AppState) -> String {
    let body = json!({"server": {
        "imageRef": "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61",
        "flavorRef": "s6.medium.2",
        "name": "held",
        "vpcid": "0f3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
        "nics": [{"subnet_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}],
        "root_volume": {"volumetype": "SSD"},
        "availability_zone": "cn-north-4a",
        "adminPass": "Sdk-Passw0rd!",
    }});
    let r = run(app, Op::CreateServers { v11: false }, body, &[]).expect("create");
    r["serverIds"][0].as_str().unwrap().to_string()
}

fn hold(app: &AppState, id: &str, status: Option<&str>) {
    let mut store = app.store();
    let i = store.get_mut(id, now_ms()).expect("server");
    held::set(i, status).expect("a held status");
}

fn show(app: &AppState, id: &str) -> Value {
    run(app, Op::ShowServer(id.into()), Value::Null, &[]).expect("show")["server"].clone()
}

fn code(r: Result<Value, HwError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{} {}", e.status, e.code),
    }
}

#[test]
fn held_statuses_render_refuse_actions_and_release() {
    let settings = Settings {
        transition_delays_ms: Delays::uniform(0),
        ..Settings::default()
    };
    let app = AppState::new(Accounts::demo(), settings, Store::new(), None);
    let id = server(&app);
    let servers = json!([{"id": id}]);
    for (status, vm_state) in [
        ("SHELVED", "shelved"),
        ("SHELVED_OFFLOADED", "shelved_offloaded"),
        ("PAUSED", "paused"),
        ("SUSPENDED", "suspended"),
        ("ERROR", "error"),
        ("MIGRATING", "active"),
        ("VERIFY_RESIZE", "resized"),
        ("REVERT_RESIZE", "resized"),
        ("SOFT_DELETED", "soft-delete"),
        ("UNKNOWN", "active"),
    ] {
        hold(&app, &id, Some(status));
        let s = show(&app, &id);
        assert_eq!(s["status"], status);
        assert_eq!(s["OS-EXT-STS:vm_state"], vm_state);
        assert_eq!(s["fault"].is_object(), status == "ERROR", "{status}");
        // the task states of the status table
        let task = match status {
            "MIGRATING" => Some("migrating"),
            "REVERT_RESIZE" => Some("resize_reverting"),
            _ => None,
        };
        assert_eq!(s["OS-EXT-STS:task_state"].as_str(), task, "{status}");
        // the list's status filter finds it under that status; PAUSED, SUSPENDED and
        // SOFT_DELETED are not filter values (SDK list_servers_details_request.py `status`)
        let q = [("status".to_string(), status.to_string())];
        match run(&app, Op::ListServersDetails, Value::Null, &q) {
            Ok(listed) => assert_eq!(listed["servers"][0]["id"], id.as_str(), "{status}"),
            Err(e) => {
                assert!(
                    matches!(status, "PAUSED" | "SUSPENDED" | "SOFT_DELETED"),
                    "{status}: {e:?}"
                );
                assert_eq!(e.code, "Ecs.0005");
            }
        }
        for action in [
            json!({"os-start": {"servers": servers}}),
            json!({"os-stop": {"type": "HARD", "servers": servers}}),
            json!({"reboot": {"type": "SOFT", "servers": servers}}),
        ] {
            assert_eq!(
                code(run(&app, Op::ServerAction, action, &[])),
                "400 Ecs.0100",
                "{status}"
            );
        }
        let resize = json!({"resize": {"flavorRef": "s6.large.2", "mode": "withStopServer"}});
        assert_eq!(
            code(run(&app, Op::Resize(id.clone()), resize, &[])),
            "400 Ecs.0100"
        );
        let changeos = json!({"os-change": {"imageid": "67f433d8-ed0e-4321-a8a2-a71838539e09",
            "adminpass": "Sdk-Passw0rd!", "mode": "withStopServer"}});
        assert_eq!(
            code(run(&app, Op::ChangeOs(id.clone()), changeos, &[])),
            "400 Ecs.0100"
        );
        // renaming is not an action on the server's state
        let rename = json!({"server": {"name": format!("held-{}", status.len())}});
        assert_eq!(
            code(run(&app, Op::UpdateServer(id.clone()), rename, &[])),
            "ok"
        );
    }
    // released (unshelve, resume, recovery): the server runs again and accepts actions
    hold(&app, &id, None);
    assert_eq!(show(&app, &id)["status"], "ACTIVE");
    let stop = json!({"os-stop": {"type": "HARD", "servers": servers}});
    assert_eq!(code(run(&app, Op::ServerAction, stop, &[])), "ok");
    // an ERROR server can be deleted ("error / deleting", ecs_08_0002); with the default
    // delays the deletion is seen under way
    let app = AppState::new(Accounts::demo(), Settings::default(), Store::new(), None);
    let id = server(&app);
    let servers = json!([{"id": id}]);
    hold(&app, &id, Some("ERROR"));
    let delete = json!({"servers": servers, "delete_publicip": true, "delete_volume": true});
    assert_eq!(code(run(&app, Op::DeleteServers, delete, &[])), "ok");
    let s = show(&app, &id);
    assert_eq!(
        (s["status"].as_str(), s["OS-EXT-STS:task_state"].as_str()),
        (Some("ERROR"), Some("deleting"))
    );
}

#[test]
fn only_documented_statuses_are_held() {
    let app = AppState::new(Accounts::demo(), Settings::default(), Store::new(), None);
    let id = server(&app);
    let mut store = app.store();
    let i = store.get_mut(&id, now_ms()).expect("server");
    assert!(held::set(i, Some("HIBERNATED")).is_err());
    assert!(held::held(i).is_none());
}
