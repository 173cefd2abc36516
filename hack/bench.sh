#!/usr/bin/env bash
# Scale benchmark (issue: scale, performance and failure). Builds/starts a private local
# control plane, runs benches/scale.rs (release build of the controller) against the
# emulator with Tencent's documented rate limits, prints a markdown table, stops the
# control plane.
#
#   hack/bench.sh                       # N = 100 and 1000
#   hack/bench.sh --instances 5000      # any N, repeatable
#
# Ctrl-C or SIGTERM stops everything it started: cargo bench runs in its own process
# group (with the controller and emulator it spawns), which the trap ends before the
# control plane is stopped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "${ROOT}/hack/versions.env"
# shellcheck source=hack/lib.sh
source "${ROOT}/hack/lib.sh"
CACHE="${CIC_CACHE_DIR:-${HOME}/.cache/cloudinstance-controller}"
export CIC_KUBECTL="${CACHE}/kubernetes-${KUBE_VERSION}/kubectl"
STATE=""
cleanup() {
  local status=$?
  trap - INT TERM
  stop_child
  if [[ -n "${STATE}" ]]; then
    CIC_STATE_DIR="${STATE}" "${ROOT}/hack/stop-control-plane.sh" >/dev/null 2>&1 || true
    rm -rf "${STATE}"
  fi
  exit "${status}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
run_child "${ROOT}/hack/build-control-plane.sh"
STATE="$(mktemp -d /tmp/cic-bench.XXXXXX)"
run_child env CIC_STATE_DIR="${STATE}" "${ROOT}/hack/start-control-plane.sh" >/dev/null
export KUBECONFIG="${STATE}/kubeconfig"
cd "${ROOT}"
run_child cargo bench --bench scale -- "$@"
