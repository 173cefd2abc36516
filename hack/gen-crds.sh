#!/usr/bin/env bash
# Regenerate crds/ and the Helm chart's CRDs from the Rust types (src/api).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p crds charts/cloudinstance-controller/crds
cargo run -q --bin cloudinstance-controller -- crd > crds/crds.yaml
cp crds/crds.yaml charts/cloudinstance-controller/crds/crds.yaml
echo "wrote crds/crds.yaml and charts/cloudinstance-controller/crds/crds.yaml"
# docs/crd-reference.md is generated from the same CRDs (tests/crd_reference.rs checks it)
CIC_UPDATE_DOCS=1 cargo test -q --test crd_reference >/dev/null
echo "wrote docs/crd-reference.md"
# deploy/install.yaml includes the CRDs (tests/packaging.rs checks it)
"$(dirname "$0")/gen-install.sh"
