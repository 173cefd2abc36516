//! The `X-Client-Token` rules of the Huawei create APIs, one test per rule (ECS API
//! reference "Idempotent Requests",
//! https://support.huaweicloud.com/intl/en-us/api-ecs/en-us_topic_0000001105258814.html;
//! docs/provider-contract.md, Huawei §4). The clock is the request's `now`, so expiry needs
//! no waiting.

use serde_json::{Value, json};

use super::actions::{self, Ctx};
use super::{Answer, HwError, Op};
use crate::app::AppState;
use crate::config::{Accounts, HUAWEI_DEMO_KEY_ID, HUAWEI_DEMO_PROJECT, Provider, Settings};
use crate::store::{Store, new_uuid, now_ms};

const HOUR_MS: i64 = 3600 * 1000;

fn app() -> AppState {
    AppState::new(Accounts::demo(), Settings::default(), Store::new(), None)
}

fn body(name: &str, dry_run: bool) -> Value {
    json!({
        "dry_run": dry_run,
        "server": {
            "imageRef": "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61",
            "flavorRef": "s6.large.2",
            "name": name,
            "vpcid": "0f3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
            "nics": [{"subnet_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}],
            "root_volume": {"volumetype": "SSD", "size": 40},
            "availability_zone": "cn-north-4a",
            "count": 1,
            "adminPass": "Sdk-Passw0rd!",
        }
    })
}

fn create(app: &AppState, token: Option<&str>, body: &Value, now: i64) -> Result<Answer, HwError> {
    let accounts = Accounts::demo();
    let account = accounts
        .find(Provider::Huawei, HUAWEI_DEMO_KEY_ID)
        .unwrap()
        .clone();
    let bytes = serde_json::to_vec(body).unwrap();
    let ctx = Ctx {
        app,
        account: &account,
        project: HUAWEI_DEMO_PROJECT,
        region: "cn-north-4",
        query: &[],
        body: &bytes,
        client_token: token.map(str::to_string),
        request_id: "req",
        now,
        launch_failed: false,
    };
    actions::run(&Op::CreateServers { v11: false }, &ctx)
}

fn code(r: Result<Answer, HwError>) -> (u16, String) {
    match r {
        Ok(a) => (a.status, String::new()),
        Err(e) => (e.status, e.code),
    }
}

#[test]
fn a_token_that_is_not_a_uuid_is_ecs_0123() {
    let app = app();
    let now = now_ms();
    for bad in [
        "cic-it-token-0001",
        "3f1c2b4e-8d9a-4c1b-9e2f-0a1b2c3d4e5f-0",
        "3f1c2b4e8d9a4c1b9e2f0a1b2c3d4e5f",
        "3f1c2b4e-8d9a-4c1b-9e2f-0a1b2c3d4e5g",
    ] {
        assert_eq!(
            code(create(&app, Some(bad), &body("a", false), now)),
            (400, "Ecs.0123".into()),
            "{bad}"
        );
    }
    assert_eq!(
        app.store()
            .count_owned(Provider::Huawei, HUAWEI_DEMO_KEY_ID, now),
        0
    );
    // Both cases of hex digits are UUIDs (the token is case-sensitive, not lowercase-only).
    let upper = new_uuid().to_uppercase();
    assert_eq!(
        code(create(&app, Some(&upper), &body("a", false), now)).0,
        200
    );
}

#[test]
fn the_same_token_and_parameters_answer_the_first_result() {
    let app = app();
    let now = now_ms();
    let t = new_uuid();
    let first = create(&app, Some(&t), &body("same", false), now).unwrap();
    // The same body in another key order is the same request.
    let mut reordered = serde_json::Map::new();
    let b = body("same", false);
    for (k, v) in b.as_object().unwrap().iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    let again = create(&app, Some(&t), &Value::Object(reordered), now + HOUR_MS).unwrap();
    assert_eq!(again.body, first.body);
    assert_eq!(
        app.store()
            .count_owned(Provider::Huawei, HUAWEI_DEMO_KEY_ID, now),
        1
    );
}

#[test]
fn the_same_token_with_other_parameters_is_ecs_0122() {
    let app = app();
    let now = now_ms();
    let t = new_uuid();
    create(&app, Some(&t), &body("first", false), now).unwrap();
    assert_eq!(
        code(create(
            &app,
            Some(&t),
            &body("fixed-spec", false),
            now + 1000
        )),
        (400, "Ecs.0122".into())
    );
    assert_eq!(
        app.store()
            .count_owned(Provider::Huawei, HUAWEI_DEMO_KEY_ID, now),
        1
    );
}

#[test]
fn a_dry_run_token_answers_only_the_dry_run() {
    let app = app();
    let now = now_ms();
    let t = new_uuid();
    assert_eq!(code(create(&app, Some(&t), &body("dry", true), now)).0, 202);
    assert_eq!(
        code(create(&app, Some(&t), &body("dry", true), now + 1)).0,
        202
    );
    // dry_run is a parameter of the request: the real create needs a token of its own.
    assert_eq!(
        code(create(&app, Some(&t), &body("dry", false), now + 2)),
        (400, "Ecs.0122".into())
    );
    assert_eq!(
        code(create(
            &app,
            Some(&new_uuid()),
            &body("dry", false),
            now + 3
        ))
        .0,
        200
    );
}

#[test]
fn a_token_expires_after_8_hours_as_ecs_0124() {
    let app = app();
    let now = now_ms();
    let t = new_uuid();
    create(&app, Some(&t), &body("old", false), now).unwrap();
    assert_eq!(
        code(create(
            &app,
            Some(&t),
            &body("old", false),
            now + 8 * HOUR_MS - 1
        ))
        .0,
        200
    );
    assert_eq!(
        code(create(
            &app,
            Some(&t),
            &body("old", false),
            now + 8 * HOUR_MS
        )),
        (400, "Ecs.0124".into())
    );
    assert_eq!(
        app.store()
            .count_owned(Provider::Huawei, HUAWEI_DEMO_KEY_ID, now),
        1
    );
}

#[test]
fn a_create_without_a_token_is_not_idempotent() {
    let app = app();
    let now = now_ms();
    create(&app, None, &body("n", false), now).unwrap();
    create(&app, None, &body("n", false), now).unwrap();
    assert_eq!(
        app.store()
            .count_owned(Provider::Huawei, HUAWEI_DEMO_KEY_ID, now),
        2
    );
}
