#!/usr/bin/env bash
# Scale benchmark (issue: scale, performance and failure). Builds/starts a private local
# control plane, runs benches/scale.rs (release build of the controller) against the
# emulator with Tencent's documented rate limits, prints a markdown table, stops the
# control plane.
#
#   hack/bench.sh                       # N = 100 and 1000
#   hack/bench.sh --instances 5000      # any N, repeatable
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "${ROOT}/hack/versions.env"
CACHE="${CIC_CACHE_DIR:-${HOME}/.cache/cloudinstance-controller}"
export CIC_KUBECTL="${CACHE}/kubernetes-${KUBE_VERSION}/kubectl"
"${ROOT}/hack/build-control-plane.sh"
STATE="$(mktemp -d /tmp/cic-bench.XXXXXX)"
trap 'CIC_STATE_DIR="${STATE}" "${ROOT}/hack/stop-control-plane.sh" >/dev/null 2>&1 || true; rm -rf "${STATE}"' EXIT
CIC_STATE_DIR="${STATE}" "${ROOT}/hack/start-control-plane.sh" >/dev/null
export KUBECONFIG="${STATE}/kubeconfig"
cd "${ROOT}"
cargo bench --bench scale -- "$@"
