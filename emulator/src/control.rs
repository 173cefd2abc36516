//! The `/_emulator/` control API (JSON). See README.md for the reference.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::app::Shared;
use crate::config::Provider;
use crate::faults::FaultSpec;
use crate::server::provider_state_name;
use crate::store::{Instance, OpState, VmState, now_ms};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/instances", get(list_instances))
        .route("/instances/{id}", get(get_instance).delete(delete_instance))
        .route("/instances/{id}/state", post(set_instance_state))
        .route("/instances/{id}/guest", post(set_guest))
        .route("/instances/{id}/held", post(set_held))
        .route("/instances/{id}/returnable", post(set_returnable))
        .route("/instances/{id}/promotional", post(set_promotional))
        .route("/instances/{id}/status-listing", post(set_status_listing))
        .route("/instances/{id}/provider-status", post(set_provider_status))
        .route("/calls", get(get_calls))
        .route("/calls/reset", post(reset_calls))
        .route("/requests", get(get_requests).delete(clear_requests))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/faults/{id}", delete(delete_fault))
        .route("/config", get(get_config).post(set_config))
        .route("/reset", post(reset_all))
}

fn bad_request(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg.into()}))).into_response()
}

fn iso(ms: i64) -> Value {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| Value::String(t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()))
        .unwrap_or(Value::Null)
}

/// The cloud-neutral view of an instance.
pub fn instance_json(i: &Instance, now: i64) -> Value {
    let state = i.state_at(now);
    let tags: BTreeMap<&str, &str> = i
        .tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    let disk = |d: &crate::store::Disk| json!({"type": d.disk_type, "size_gb": d.size_gb, "id": d.id, "delete_with_instance": d.delete_with_instance});
    json!({
        "provider": i.provider,
        "account": i.account,
        "id": i.id,
        "name": i.name,
        "state": state.as_str(),
        "provider_state": match i.provider {
            Provider::Tencent => crate::tencent::held::instance_state(i, now).to_string(),
            Provider::Huawei => crate::huawei::held::held(i)
                .map(str::to_string)
                .unwrap_or_else(|| provider_state_name(i.provider, state)),
            p => provider_state_name(p, state),
        },
        "region": i.region,
        "zone": i.zone,
        "image": i.image_id,
        "instance_type": i.instance_type,
        "cpu": i.cpu,
        "memory_gb": i.memory_gb,
        "private_ips": i.private_ips,
        "public_ips": i.public_ips,
        "tags": tags,
        "security_groups": i.security_groups,
        "created_at": iso(i.created_ms),
        "updated_at": iso(i.updated_ms),
        "settles_at": iso(i.settles_at()),
        "charge_type": i.charge_type,
        "client_token": i.client_token,
        "system_disk": disk(&i.system_disk),
        "data_disks": i.data_disks.iter().map(disk).collect::<Vec<_>>(),
        "bandwidth_out": i.bandwidth_out,
        "vpc_id": i.vpc_id,
        "subnet_id": i.subnet_id,
        "host_name": i.host_name,
        "key_ids": i.key_ids,
        "project_id": i.project_id,
        "protected": i.protected,
        "guest_ignores_soft_stop": i.guest_ignores_soft_stop,
        "last_operation": i.last_operation.as_ref().map(|op| json!({
            "action": op.action,
            "request_id": op.request_id,
            "state": match op.state_at(now) {
                OpState::Operating => "operating",
                OpState::Success => "success",
                OpState::Failed => "failed",
            },
        })),
    })
}

async fn healthz(State(app): State<Shared>) -> Json<Value> {
    let n = app.store().len();
    Json(json!({"status": "ok", "instances": n}))
}

async fn list_instances(
    State(app): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let provider = match q.get("provider") {
        Some(p) => match Provider::parse(p) {
            Some(p) => Some(p),
            None => return bad_request(format!("unknown provider `{p}`")),
        },
        None => None,
    };
    let state = match q.get("state") {
        Some(s) => match VmState::parse(s) {
            Some(s) => Some(s),
            None => return bad_request(format!("unknown state `{s}`")),
        },
        None => None,
    };
    // `tag=key=value`: only instances carrying that tag
    let tag = match q.get("tag").map(|t| t.split_once('=')) {
        Some(None) => return bad_request("tag must be key=value"),
        Some(Some(kv)) => Some(kv),
        None => None,
    };
    let now = now_ms();
    let mut store = app.store();
    store.sweep(now);
    let list: Vec<Value> = store
        .list(now, |i| {
            provider.is_none_or(|p| i.provider == p)
                && q.get("account").is_none_or(|a| &i.account == a)
                && q.get("region").is_none_or(|r| &i.region == r)
                && state.is_none_or(|s| i.state_at(now) == s)
                && tag.is_none_or(|(k, v)| i.tags.iter().any(|t| t.key == k && t.value == v))
        })
        .into_iter()
        .map(|i| instance_json(i, now))
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn get_instance(State(app): State<Shared>, Path(id): Path<String>) -> Response {
    let now = now_ms();
    match app.store().get(&id, now) {
        Some(i) => Json(instance_json(i, now)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no instance `{id}`")})),
        )
            .into_response(),
    }
}

async fn delete_instance(State(app): State<Shared>, Path(id): Path<String>) -> Response {
    match app.store().remove(&id) {
        Some(_) => Json(json!({"deleted": id})).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no instance `{id}`")})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: String,
}

async fn set_instance_state(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<StateBody>,
) -> Response {
    let Some(state) = VmState::parse(&body.state) else {
        return bad_request(format!("unknown state `{}`", body.state));
    };
    let shutdown = app.settings().transition_delays_ms.shutdown;
    update_instance(&app, &id, |inst, now| {
        if state == VmState::Terminated {
            inst.set_schedule(
                now,
                &[(VmState::Terminated, Some(shutdown)), (VmState::Gone, None)],
            );
        } else {
            inst.set_schedule(now, &[(state, None)]);
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeldBody {
    /// `arrears`, `expired`, `rescue` (`enter_rescue`: through ENTER_RESCUE_MODE for a phase;
    /// `exit_rescue`: out of it through EXIT_RESCUE_MODE), `enter_live_migrate` / `live_migrate` /
    /// `exit_live_migrate` (a live migration starting at that phase, ending by itself), or
    /// null to release the instance.
    held: Option<String>,
    /// The state a released instance comes back in: `running` (default) or `stopped`.
    #[serde(default)]
    state: Option<String>,
    /// How long each live-migration or rescue-mode phase lasts, in ms (default 5000).
    #[serde(default)]
    phase_ms: Option<u64>,
}

/// The cloud holds an instance by itself (isolation for arrears or expiry, rescue mode, live
/// migration) or releases it (paid, renewed, rescue mode exited). Modelled for Tencent
/// (`tencent/held.rs`).
async fn set_held(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<HeldBody>,
) -> Response {
    let hold = match body.held.as_deref().map(crate::tencent::held::Hold::parse) {
        Some(None) => {
            return bad_request(
                "held must be arrears, expired, rescue, enter_rescue, exit_rescue, \
                 enter_live_migrate, live_migrate, exit_live_migrate or null",
            );
        }
        Some(Some(h)) => Some(h),
        None => None,
    };
    let after = match body.state.as_deref().map(VmState::parse) {
        None => VmState::Running,
        Some(Some(s)) => s,
        Some(None) => return bad_request("state must be running or stopped"),
    };
    if let Some(refused) = only_for(&app, &id, Provider::Tencent, "held states") {
        return refused;
    }
    let mut refused = None;
    let r = update_instance(&app, &id, |inst, now| {
        refused =
            crate::tencent::held::apply(inst, hold, after, now, body.phase_ms.unwrap_or(5000))
                .err();
    });
    match refused {
        Some(e) => bad_request(e),
        None => r,
    }
}

/// A bad request when instance `id` exists and is not `provider`'s: `what` is modelled for
/// that cloud only. (An unknown id is left to the update, which answers 404.)
fn only_for(app: &Shared, id: &str, provider: Provider, what: &str) -> Option<Response> {
    let found = app.store().get(id, now_ms()).map(|i| i.provider);
    found.is_some_and(|p| p != provider).then(|| {
        bad_request(format!(
            "{what} are modelled for {provider:?} instances only"
        ))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReturnableBody {
    returnable: bool,
}

/// Whether a Tencent prepaid instance meets the refund rules (`tencent/held.rs`).
async fn set_returnable(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<ReturnableBody>,
) -> Response {
    if let Some(refused) = only_for(&app, &id, Provider::Tencent, "refund rules") {
        return refused;
    }
    update_instance(&app, &id, |inst, _| {
        crate::tencent::held::set_returnable(inst, body.returnable)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromotionalBody {
    promotional: bool,
}

/// Whether a Tencent instance was bought at a promotional price (`tencent/held.rs`).
async fn set_promotional(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<PromotionalBody>,
) -> Response {
    if let Some(refused) = only_for(&app, &id, Provider::Tencent, "promotional prices") {
        return refused;
    }
    update_instance(&app, &id, |inst, _| {
        crate::tencent::held::set_promotional(inst, body.promotional)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuestBody {
    /// The guest ignores soft (ACPI) shutdown: soft stops fail, back to Running.
    ignores_soft_stop: bool,
}

/// Guest OS behaviour of one instance (fault injection for stop escalation).
async fn set_guest(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<GuestBody>,
) -> Response {
    update_instance(&app, &id, |inst, _| {
        inst.guest_ignores_soft_stop = body.ignores_soft_stop;
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListingBody {
    /// Leave the instance out of batched status listings (Tencent DescribeInstancesStatus)
    /// while a describe by id still returns it.
    hidden: bool,
}

async fn set_status_listing(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<ListingBody>,
) -> Response {
    app.set_hidden_from_status(&id, body.hidden);
    Json(json!({"id": id, "hidden": body.hidden})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderStatusBody {
    /// A status the cloud documents but no emulated action reaches (Huawei SHELVED,
    /// SHELVED_OFFLOADED, PAUSED, SUSPENDED, ERROR); `null` restores the server.
    status: Option<String>,
}

/// Hold an instance in a cloud-specific status (as the cloud or its operator would), or
/// release it (`{"status": null}`).
async fn set_provider_status(
    State(app): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<ProviderStatusBody>,
) -> Response {
    let now = now_ms();
    let mut store = app.store();
    let Some(inst) = store.get_mut(&id, now) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no instance `{id}`")})),
        )
            .into_response();
    };
    if inst.provider != Provider::Huawei {
        return bad_request("provider statuses are emulated for Huawei servers only");
    }
    if let Err(e) = crate::huawei::held::set(inst, body.status.as_deref()) {
        return bad_request(e);
    }
    inst.updated_ms = now;
    Json(instance_json(inst, now)).into_response()
}

/// Change instance `id` with `f` (given the current time) and answer with it, or 404.
fn update_instance(app: &Shared, id: &str, f: impl FnOnce(&mut Instance, i64)) -> Response {
    let now = now_ms();
    let mut store = app.store();
    let Some(inst) = store.get_mut(id, now) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no instance `{id}`")})),
        )
            .into_response();
    };
    f(inst, now);
    Json(instance_json(inst, now)).into_response()
}

async fn get_calls(State(app): State<Shared>) -> Json<Value> {
    Json(app.calls().to_json())
}

async fn reset_calls(State(app): State<Shared>) -> Json<Value> {
    app.calls().clear();
    Json(json!({"reset": true}))
}

/// The cloud API requests received, oldest first (`?provider=` for one cloud), secrets
/// removed (see `calls::RecordedRequest`).
async fn get_requests(
    State(app): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let provider = match q.get("provider") {
        Some(p) => match Provider::parse(p) {
            Some(p) => Some(p),
            None => return bad_request(format!("unknown provider `{p}`")),
        },
        None => None,
    };
    let calls = app.calls();
    Json(serde_json::to_value(calls.requests.list(provider)).unwrap_or_default()).into_response()
}

async fn clear_requests(State(app): State<Shared>) -> Json<Value> {
    app.calls().requests.clear();
    Json(json!({"cleared": true}))
}

async fn list_faults(State(app): State<Shared>) -> Json<Value> {
    Json(serde_json::to_value(app.faults().list()).unwrap_or_default())
}

async fn add_fault(State(app): State<Shared>, Json(spec): Json<FaultSpec>) -> Response {
    match app.faults().add(spec) {
        Ok(id) => Json(json!({"id": id})).into_response(),
        Err(e) => bad_request(e),
    }
}

async fn clear_faults(State(app): State<Shared>) -> Json<Value> {
    app.faults().clear();
    Json(json!({"cleared": true}))
}

async fn delete_fault(State(app): State<Shared>, Path(id): Path<u64>) -> Response {
    if app.faults().remove(id) {
        Json(json!({"deleted": id})).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no fault {id}")})),
        )
            .into_response()
    }
}

async fn get_config(State(app): State<Shared>) -> Json<Value> {
    Json(serde_json::to_value(app.settings()).unwrap_or_default())
}

fn double_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigPatch {
    /// Set every transition delay.
    #[serde(default)]
    transition_delay_ms: Option<u64>,
    /// Set named transition delays (applied after `transition_delay_ms`).
    #[serde(default)]
    transition_delays_ms: Option<BTreeMap<String, u64>>,
    #[serde(default)]
    rate_limit_enabled: Option<bool>,
    #[serde(default)]
    rate_limit_multiplier: Option<f64>,
    /// Replaces the per-action overrides (requests per second).
    #[serde(default)]
    rate_limit_overrides: Option<BTreeMap<String, f64>>,
    /// `null` for unlimited.
    #[serde(default, deserialize_with = "double_option")]
    instance_quota: Option<Option<u64>>,
    #[serde(default)]
    max_clock_skew_secs: Option<i64>,
    #[serde(default)]
    tencent_balance_insufficient: Option<bool>,
    /// Self-service returns of prepaid instances left; `null` for unlimited.
    #[serde(default, deserialize_with = "double_option")]
    tencent_return_quota: Option<Option<u64>>,
    #[serde(default)]
    alibaba_no_payment_method: Option<bool>,
}

async fn set_config(State(app): State<Shared>, Json(patch): Json<ConfigPatch>) -> Response {
    if let Some(m) = patch.rate_limit_multiplier
        && !(m > 0.0 && m.is_finite())
    {
        return bad_request("rate_limit_multiplier must be a positive number");
    }
    if let Some(o) = &patch.rate_limit_overrides
        && o.values().any(|v| v.is_nan() || *v <= 0.0)
    {
        return bad_request("rate_limit_overrides values must be positive");
    }
    let mut delays = app.settings().transition_delays_ms;
    if let Some(all) = patch.transition_delay_ms {
        delays = crate::config::Delays::uniform(all);
    }
    if let Some(named) = &patch.transition_delays_ms {
        for (name, ms) in named {
            if let Err(e) = delays.set(name, *ms) {
                return bad_request(e);
            }
        }
    }
    let s = app.update_settings(|s| {
        s.transition_delays_ms = delays;
        if let Some(v) = patch.rate_limit_enabled {
            s.rate_limit_enabled = v;
        }
        if let Some(v) = patch.rate_limit_multiplier {
            s.rate_limit_multiplier = v;
        }
        if let Some(v) = patch.rate_limit_overrides {
            s.rate_limit_overrides = v;
        }
        if let Some(v) = patch.instance_quota {
            s.instance_quota = v;
        }
        if let Some(v) = patch.max_clock_skew_secs {
            s.max_clock_skew_secs = v;
        }
        if let Some(v) = patch.tencent_balance_insufficient {
            s.tencent_balance_insufficient = v;
        }
        if let Some(v) = patch.tencent_return_quota {
            s.tencent_return_quota = v;
        }
        if let Some(v) = patch.alibaba_no_payment_method {
            s.alibaba_no_payment_method = v;
        }
    });
    Json(serde_json::to_value(s).unwrap_or_default()).into_response()
}

async fn reset_all(State(app): State<Shared>) -> Json<Value> {
    app.reset();
    Json(json!({"reset": true}))
}
