//! `kubectl explain` is complete: every field of both CRDs (spec and status) has a
//! description, and the limits the Rust types declare reach the published schema. Walks
//! the schema generated from src/api (what `crds/` holds; tests/crd_drift.rs keeps them
//! equal), so it needs no cluster. tests/admission.rs checks that the apiserver enforces it.

use cloudinstance_controller::api;
use serde_json::Value;

/// Every CRD version's openAPIV3Schema as JSON, with the CRD's kind.
fn schemas() -> Vec<(String, Value)> {
    api::crds()
        .into_iter()
        .flat_map(|crd| {
            let kind = crd.spec.names.kind.clone();
            crd.spec.versions.into_iter().map(move |v| {
                let schema = v
                    .schema
                    .and_then(|s| s.open_api_v3_schema)
                    .expect("every version has a schema");
                (kind.clone(), serde_json::to_value(schema).unwrap())
            })
        })
        .collect()
}

/// Collects the path of every property below `schema` that has no description.
fn undocumented(path: &str, schema: &Value, missing: &mut Vec<String>, seen: &mut usize) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            let p = format!("{path}.{name}");
            *seen += 1;
            let d = sub.get("description").and_then(Value::as_str).unwrap_or("");
            if d.trim().is_empty() {
                missing.push(p.clone());
            }
            undocumented(&p, sub, missing, seen);
        }
    }
    if let Some(items) = schema.get("items") {
        undocumented(&format!("{path}[]"), items, missing, seen);
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        undocumented(&format!("{path}{{}}"), values, missing, seen);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        for alt in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            undocumented(path, alt, missing, seen);
        }
    }
}

/// The schema of a dotted path (`spec.tags`, `status.conditions[]`) in `kind`.
fn at(kind: &str, path: &str) -> Value {
    let (_, root) = schemas()
        .into_iter()
        .find(|(k, _)| k == kind)
        .unwrap_or_else(|| panic!("no CRD {kind}"));
    let mut cur = root;
    for part in path.split('.') {
        let (name, item) = match part.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (part, false),
        };
        cur = cur["properties"][name].clone();
        assert!(!cur.is_null(), "{kind} has no field {path}");
        if item {
            cur = cur["items"].clone();
        }
    }
    cur
}

#[test]
fn every_field_of_both_crds_has_a_description() {
    let mut missing = Vec::new();
    let mut seen = 0;
    for (kind, schema) in schemas() {
        let d = schema
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        if d.trim().is_empty() {
            missing.push(kind.clone());
        }
        undocumented(&kind, &schema, &mut missing, &mut seen);
    }
    assert!(
        seen > 80,
        "the walk saw only {seen} fields: is it walking the schema?"
    );
    assert!(
        missing.is_empty(),
        "`kubectl explain` shows these fields without a description; add a doc comment \
         in src/api, then run hack/gen-crds.sh:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_walk_finds_a_field_without_description() {
    // The walker itself: a nested, an item and a map-value field without descriptions.
    let schema = serde_json::json!({"description": "x", "properties": {
        "a": {"description": "a", "properties": {"b": {"type": "string"}}},
        "l": {"description": "l", "items": {"properties": {"c": {"type": "string"}}}},
        "m": {"description": "m", "additionalProperties": {"properties": {"d": {}}}},
    }});
    let (mut missing, mut seen) = (Vec::new(), 0);
    undocumented("K", &schema, &mut missing, &mut seen);
    assert_eq!(missing, ["K.a.b", "K.l[].c", "K.m{}.d"]);
}

#[test]
fn declared_limits_reach_the_crd() {
    let tags = at("CloudInstance", "spec.tags");
    assert_eq!(tags["maxProperties"], 40, "{tags}");
    assert_eq!(at("CloudInstance", "spec.dataDisks")["maxItems"], 20);
    assert_eq!(at("CloudInstance", "spec.userData")["maxLength"], 16384);
    assert_eq!(
        at("CloudInstance", "spec.network.securityGroupIds")["maxItems"],
        5
    );
}

#[test]
fn timestamps_are_date_time() {
    for (kind, path) in [
        ("CloudCredential", "status.lastVerifiedAt"),
        ("CloudCredential", "status.conditions[].lastTransitionTime"),
        ("CloudInstance", "status.lastSyncedAt"),
        ("CloudInstance", "status.createRequestedAt"),
        ("CloudInstance", "status.softStopRequestedAt"),
        ("CloudInstance", "status.conditions[].lastTransitionTime"),
    ] {
        let s = at(kind, path);
        assert_eq!(s["format"], "date-time", "{kind} {path}: {s}");
    }
}

#[test]
fn conditions_are_a_map_list_with_metav1_constraints() {
    for kind in ["CloudCredential", "CloudInstance"] {
        let list = at(kind, "status.conditions");
        assert_eq!(list["x-kubernetes-list-type"], "map", "{kind}: {list}");
        assert_eq!(
            list["x-kubernetes-list-map-keys"],
            serde_json::json!(["type"]),
            "{kind}"
        );
        let item = &list["items"];
        let required: Vec<_> = item["required"].as_array().unwrap().iter().collect();
        for r in ["type", "status", "reason"] {
            assert!(required.contains(&&Value::from(r)), "{kind}: {r} required");
        }
        let p = &item["properties"];
        assert_eq!(
            p["status"]["enum"],
            serde_json::json!(["True", "False", "Unknown"])
        );
        assert_eq!(p["type"]["maxLength"], 316);
        assert!(p["type"]["pattern"].is_string());
        assert_eq!(p["reason"]["minLength"], 1);
        assert_eq!(p["reason"]["maxLength"], 1024);
        assert_eq!(
            p["reason"]["pattern"],
            api::conditions::REASON_PATTERN,
            "the schema's reason pattern is the one Condition::new enforces"
        );
        assert_eq!(p["message"]["maxLength"], 32768);
        assert_eq!(p["observedGeneration"]["minimum"], 0.0);
    }
}

#[test]
fn huawei_project_id_is_required_by_a_cel_rule() {
    let spec = at("CloudCredential", "spec");
    let rules = spec["x-kubernetes-validations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        rules.iter().any(|r| r["rule"]
            .as_str()
            .is_some_and(|r| r.contains("huawei") && r.contains("has(self.projectId)"))),
        "{spec}"
    );
}

#[test]
fn instances_show_synced_next_to_ready() {
    let crd = api::crds().remove(1);
    let cols = crd.spec.versions[0]
        .additional_printer_columns
        .clone()
        .unwrap();
    let synced = cols
        .iter()
        .find(|c| c.name == "Synced")
        .expect("a Synced column");
    assert_eq!(
        synced.json_path,
        ".status.conditions[?(@.type==\"Synced\")].status"
    );
}
