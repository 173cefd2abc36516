//! `crds/` and the Helm chart's CRDs are generated from the Rust types; this fails when
//! either drifts. Regenerate with `hack/gen-crds.sh`.

use cloudinstance_controller::api;

fn repo(path: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("read {}: {e} (run hack/gen-crds.sh)", p.display()))
}

#[test]
fn committed_crds_match_the_rust_types() {
    let generated = api::crds_yaml();
    let committed = repo("crds/crds.yaml");
    assert!(
        committed == generated,
        "crds/crds.yaml is out of date with src/api: run hack/gen-crds.sh and commit the result"
    );
}

#[test]
fn chart_crds_match_the_rust_types() {
    let chart = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("charts/cloudinstance-controller/crds/crds.yaml");
    if !chart.exists() {
        panic!("charts/cloudinstance-controller/crds/crds.yaml missing: run hack/gen-crds.sh");
    }
    assert!(
        std::fs::read_to_string(chart).unwrap() == api::crds_yaml(),
        "the chart's CRDs are out of date: run hack/gen-crds.sh and commit the result"
    );
}

#[test]
fn crds_have_the_expected_names_and_columns() {
    let crds = api::crds();
    let names: Vec<_> = crds.iter().map(|c| c.spec.names.kind.clone()).collect();
    assert_eq!(names, ["CloudCredential", "CloudInstance"]);
    let inst = &crds[1];
    assert_eq!(inst.spec.group, "compute.cloudinstance.io");
    assert_eq!(
        inst.spec.names.short_names.as_deref(),
        Some(&["cins".to_string()][..])
    );
    assert_eq!(
        inst.spec.names.categories.as_deref(),
        Some(&["cloud".to_string()][..])
    );
    let cols: Vec<_> = inst.spec.versions[0]
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(cols, ["ID", "State", "Public-IP", "Ready", "Synced", "Age"]);
    assert_eq!(
        crds[0].spec.names.short_names.as_deref(),
        Some(&["ccred".to_string()][..])
    );
}
