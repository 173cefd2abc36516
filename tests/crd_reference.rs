//! `docs/crd-reference.md` is generated from the CRDs (the same `api::crds()` that
//! `crds/crds.yaml` comes from): this fails when it drifts. Regenerate with
//!
//! ```sh
//! CIC_UPDATE_DOCS=1 cargo test --test crd_reference
//! ```

use std::fmt::Write as _;

use cloudinstance_controller::api;
use serde_json::Value;

const PATH: &str = "docs/crd-reference.md";

/// One line of text fit for a table cell.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 => format!("{}", f as i64),
        Some(f) => f.to_string(),
        None => v.to_string(),
    }
}

fn type_of(s: &Value) -> String {
    let t = s["type"].as_str().unwrap_or("");
    match t {
        "array" => format!("[]{}", type_of(&s["items"])),
        "object" if s.get("additionalProperties").is_some_and(Value::is_object) => {
            format!("map[string]{}", type_of(&s["additionalProperties"]))
        }
        "integer" | "number" => match s["format"].as_str() {
            Some(f) => format!("{t} ({f})"),
            None => t.to_owned(),
        },
        "" => "any".to_owned(),
        _ => t.to_owned(),
    }
}

fn validation(s: &Value) -> String {
    let mut v = Vec::new();
    if let Some(e) = s["enum"].as_array() {
        let values: Vec<String> = e
            .iter()
            .map(|x| code(x.as_str().unwrap_or(&x.to_string())))
            .collect();
        v.push(format!("one of {}", values.join(", ")));
    }
    match (s.get("minimum"), s.get("maximum")) {
        (Some(a), Some(b)) => v.push(format!("{} to {}", num(a), num(b))),
        (Some(a), None) => v.push(format!("≥ {}", num(a))),
        (None, Some(b)) => v.push(format!("≤ {}", num(b))),
        _ => {}
    }
    match (s.get("minLength"), s.get("maxLength")) {
        (Some(a), Some(b)) => v.push(format!("length {} to {}", num(a), num(b))),
        (Some(a), None) => v.push(format!("length ≥ {}", num(a))),
        (None, Some(b)) => v.push(format!("length ≤ {}", num(b))),
        _ => {}
    }
    if let Some(m) = s.get("maxItems") {
        let n = num(m);
        v.push(format!(
            "at most {n} item{}",
            if n == "1" { "" } else { "s" }
        ));
    }
    if let Some(m) = s.get("maxProperties") {
        let n = num(m);
        v.push(format!(
            "at most {n} entr{}",
            if n == "1" { "y" } else { "ies" }
        ));
    }
    if let Some(f) = s["format"].as_str().filter(|_| s["type"] == "string") {
        v.push(format!("format {}", code(f)));
    }
    if s["x-kubernetes-list-type"] == "map" {
        let keys: Vec<String> = s["x-kubernetes-list-map-keys"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(code).collect())
            .unwrap_or_default();
        v.push(format!("one item per {}", keys.join(", ")));
    }
    if let Some(p) = s["pattern"].as_str() {
        v.push(format!("pattern {}", code(p)));
    }
    if let Some(rules) = s["x-kubernetes-validations"].as_array() {
        for r in rules {
            let rule = r["rule"].as_str().unwrap_or("");
            let msg = r["message"].as_str().unwrap_or("");
            v.push(format!("rule {}: {}", code(rule), msg));
        }
    }
    cell(&v.join("; "))
}

fn rows(out: &mut String, path: &str, s: &Value, required: bool) {
    let default = s
        .get("default")
        .map(|d| code(&d.to_string()))
        .unwrap_or_default();
    // tests/explain.rs makes sure every field has one
    let desc = s["description"].as_str().unwrap_or("");
    writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |",
        code(path),
        type_of(s),
        if required { "yes" } else { "" },
        default,
        validation(s),
        cell(desc)
    )
    .unwrap();
    children(out, path, s);
}

fn children(out: &mut String, path: &str, s: &Value) {
    let (props, req, prefix) = if let Some(p) = s["properties"].as_object() {
        (p, &s["required"], path.to_owned())
    } else if let Some(p) = s["items"]["properties"].as_object() {
        (p, &s["items"]["required"], format!("{path}[]"))
    } else {
        return;
    };
    let required: Vec<&str> = req
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut names: Vec<&String> = props.keys().collect();
    names.sort();
    for name in names {
        rows(
            out,
            &format!("{prefix}.{name}"),
            &props[name],
            required.contains(&name.as_str()),
        );
    }
}

fn render() -> String {
    let mut out = String::new();
    out.push_str(
        "# CRD reference

<!-- Generated from the CRDs by tests/crd_reference.rs; do not edit by hand.
     Regenerate: CIC_UPDATE_DOCS=1 cargo test --test crd_reference -->

Both kinds are in the API group `compute.cloudinstance.io`, version `v1alpha1`,
namespaced, with a `status` subresource (the controller writes status only there, with
server-side apply). The manifests are `crds/crds.yaml` (identical to
`charts/cloudinstance-controller/crds/crds.yaml`), generated from `src/api/` by
`hack/gen-crds.sh`.

Columns: **Required** — the API server rejects the object without it. **Default** — filled
in by the API server when the field is omitted. **Validation** — enforced by the API
server (OpenAPI schema and CEL rules), so invalid objects are rejected at
`kubectl apply` time, never half-applied. `rule` entries are CEL expressions; `self ==
oldSelf` makes a field immutable. Status fields are written by the controller only.

For what the condition reasons mean and what to do about them, see
[troubleshooting.md](troubleshooting.md); for examples, [examples/](../examples/).
",
    );
    for crd in api::crds() {
        let crd = serde_json::to_value(&crd).expect("CRD to JSON");
        let spec = &crd["spec"];
        let kind = spec["names"]["kind"].as_str().unwrap();
        let version = &spec["versions"][0];
        let schema = &version["schema"]["openAPIV3Schema"];
        writeln!(out, "\n## {kind}\n").unwrap();
        writeln!(
            out,
            "{}\n",
            cell(schema["description"].as_str().unwrap_or(""))
        )
        .unwrap();
        let short: Vec<String> = spec["names"]["shortNames"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(code).collect())
            .unwrap_or_default();
        let cats: Vec<String> = spec["names"]["categories"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(code).collect())
            .unwrap_or_default();
        writeln!(out, "| | |\n|---|---|").unwrap();
        writeln!(
            out,
            "| API version | `{}/{}` |",
            spec["group"].as_str().unwrap(),
            version["name"].as_str().unwrap()
        )
        .unwrap();
        writeln!(
            out,
            "| Kind / plural | `{kind}` / `{}` |",
            spec["names"]["plural"].as_str().unwrap()
        )
        .unwrap();
        writeln!(out, "| Scope | {} |", spec["scope"].as_str().unwrap()).unwrap();
        writeln!(out, "| Short names | {} |", short.join(", ")).unwrap();
        writeln!(
            out,
            "| Categories | {} (`kubectl get cloud` lists both kinds) |",
            cats.join(", ")
        )
        .unwrap();
        let columns: Vec<String> = version["additionalPrinterColumns"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        format!(
                            "{} ({})",
                            c["name"].as_str().unwrap_or(""),
                            code(c["jsonPath"].as_str().unwrap_or(""))
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        writeln!(
            out,
            "| `kubectl get` columns | {} |",
            cell(&columns.join(", "))
        )
        .unwrap();
        for part in ["spec", "status"] {
            let s = &schema["properties"][part];
            writeln!(out, "\n### {kind} {part}\n").unwrap();
            writeln!(out, "{}\n", cell(s["description"].as_str().unwrap_or(""))).unwrap();
            if let Some(rules) = s["x-kubernetes-validations"].as_array() {
                for r in rules {
                    writeln!(
                        out,
                        "Rule on the whole {part}: {}: {}\n",
                        code(r["rule"].as_str().unwrap_or("")),
                        cell(r["message"].as_str().unwrap_or(""))
                    )
                    .unwrap();
                }
            }
            writeln!(
                out,
                "| Field | Type | Required | Default | Validation | Description |\n|---|---|---|---|---|---|"
            )
            .unwrap();
            children(&mut out, part, s);
        }
    }
    out
}

#[test]
fn crd_reference_matches_the_crds() {
    let generated = render();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PATH);
    if std::env::var_os("CIC_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/crd-reference.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{PATH} is out of date with the CRDs: run CIC_UPDATE_DOCS=1 cargo test --test crd_reference"
    );
}

#[test]
fn every_schema_field_is_documented() {
    // Every property of both CRDs appears in the reference as a row.
    let generated = render();
    fn walk(path: &str, s: &Value, out: &mut Vec<String>) {
        if let Some(p) = s["properties"].as_object() {
            for (k, v) in p {
                let child = format!("{path}.{k}");
                out.push(child.clone());
                walk(&child, v, out);
            }
        } else if s["items"]["properties"].is_object() {
            walk(&format!("{path}[]"), &s["items"], out);
        }
    }
    for crd in api::crds() {
        let crd = serde_json::to_value(&crd).unwrap();
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let mut paths = Vec::new();
        walk("spec", &schema["properties"]["spec"], &mut paths);
        walk("status", &schema["properties"]["status"], &mut paths);
        assert!(paths.len() > 10);
        for p in paths {
            assert!(
                generated.contains(&format!("| `{p}` |")),
                "{p} missing from the reference"
            );
        }
    }
}
