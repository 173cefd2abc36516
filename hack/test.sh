#!/usr/bin/env bash
# The single test command of this repository.
#
#   hack/test.sh                      # everything
#   hack/test.sh --test control_plane # extra arguments go to `cargo test` (before `--`)
#
# 1. installs missing prerequisites (openssl, python3 venv) with apt-get,
# 2. builds/caches kube-apiserver, kubectl, etcd and helm (hack/build-control-plane.sh),
# 3. builds the workspace (all targets),
# 4. starts a dedicated control plane in a temporary state dir and stops it on exit.
#    If KUBECONFIG is already exported and that cluster answers /readyz = ok, it is used
#    instead and left running (tests create CRDs and namespaces in it: point KUBECONFIG
#    only at a throwaway cluster, or unset it),
# 5. exports KUBECONFIG, CIC_KUBECTL, CIC_HELM, CIC_BIN_DIR for the tests,
# 6. runs the demo (hack/demo.sh up, then down) when no extra arguments are given,
# 7. runs `cargo test --workspace -- --test-threads=${CIC_TEST_THREADS:-4}` and exits
#    with its status.
#
# Extend it by adding steps to main() below; keep it the one entry point.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HACK_DIR="${ROOT}/hack"
# shellcheck source=hack/versions.env
source "${HACK_DIR}/versions.env"
CACHE="${CIC_CACHE_DIR:-${HOME}/.cache/cloudinstance-controller}"

export CIC_KUBECTL="${CACHE}/kubernetes-${KUBE_VERSION}/kubectl"
export CIC_HELM="${CACHE}/helm-${HELM_VERSION}/helm"
export CIC_BIN_DIR="${CARGO_TARGET_DIR:-${ROOT}/target}/debug"

log() { echo "[test] $*" >&2; }

apt_install() {
  local sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo)
  log "installing with apt-get: $*"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_prerequisites() {
  command -v cargo >/dev/null || { log "cargo not found: install Rust with rustup"; exit 1; }
  local missing=()
  command -v openssl >/dev/null || missing+=(openssl)
  if ! command -v python3 >/dev/null; then
    missing+=(python3 python3-venv)
  elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    # Debian splits venv/ensurepip out of python3 into python3-venv (or python3.X-venv).
    local minor
    minor="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    missing+=(python3-venv "python${minor}-venv")
  fi
  if (( ${#missing[@]} > 0 )); then
    apt_install "${missing[@]}"
  fi
}

build() {
  "${HACK_DIR}/build-control-plane.sh"
  log "cargo build --workspace --all-targets"
  (cd "${ROOT}" && cargo build --workspace --all-targets)
}

STARTED_STATE_DIR=""
TEST_LOG=""
# One plain closing line summing every `test result:` line of the run, printed last.
summary() {
  [[ -n "${TEST_LOG}" && -f "${TEST_LOG}" ]] || return 0
  local passed failed
  passed="$(grep -oE '^test result: [A-Za-z]+\. [0-9]+ passed' "${TEST_LOG}" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}' || true)"
  failed="$(grep -oE '^test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' "${TEST_LOG}" | grep -oE '[0-9]+ failed' | awk '{s+=$1} END {print s+0}' || true)"
  rm -f "${TEST_LOG}"
  echo "tests: ${passed} passed, ${failed} failed"
}

cleanup() {
  local status=$?
  if [[ -n "${STARTED_STATE_DIR}" ]]; then
    CIC_STATE_DIR="${STARTED_STATE_DIR}" "${HACK_DIR}/stop-control-plane.sh" || status=1
    if (( status == 0 )); then
      rm -rf "${STARTED_STATE_DIR}"
    else
      log "control plane logs kept in ${STARTED_STATE_DIR}"
    fi
  fi
  summary
  exit "${status}"
}

control_plane() {
  if [[ -n "${KUBECONFIG:-}" ]] &&
    [[ "$("${CIC_KUBECTL}" --request-timeout=3s get --raw /readyz 2>/dev/null || true)" == "ok" ]]; then
    log "using the already running cluster from KUBECONFIG=${KUBECONFIG}"
    return
  fi
  STARTED_STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cic-test-cp.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  local out
  out="$(CIC_STATE_DIR="${STARTED_STATE_DIR}" "${HACK_DIR}/start-control-plane.sh")"
  eval "${out}"
  export KUBECONFIG
}

run_tests() {
  log "cargo test --workspace $* -- --test-threads=${CIC_TEST_THREADS:-4}"
  local status=0
  TEST_LOG="$(mktemp "${TMPDIR:-/tmp}/cic-test-log.XXXXXX")"
  trap cleanup EXIT
  set +e
  (cd "${ROOT}" && cargo test --workspace "$@" -- --test-threads="${CIC_TEST_THREADS:-4}") 2>&1 | tee "${TEST_LOG}"
  status=${PIPESTATUS[0]}
  set -e
  return "${status}"
}

# The README's demo, non-interactively, in its own state dir: it must end with every
# example instance Ready. Skipped when extra cargo arguments select a subset of tests.
run_demo() {
  local dir status=0
  dir="$(mktemp -d "${TMPDIR:-/tmp}/cic-demo.XXXXXX")"
  log "hack/demo.sh (non-interactive, state in ${dir})"
  CIC_DEMO_DIR="${dir}" CIC_DEMO_TIMEOUT=240 "${HACK_DIR}/demo.sh" up || status=$?
  CIC_DEMO_DIR="${dir}" "${HACK_DIR}/demo.sh" down || true
  if (( status == 0 )); then rm -rf "${dir}"; else log "demo failed; logs kept in ${dir}"; fi
  return "${status}"
}

main() {
  local start=${SECONDS}
  ensure_prerequisites
  build
  if (( $# == 0 )); then
    run_demo
  fi
  control_plane
  local status=0
  run_tests "$@" || status=$?
  log "finished with status ${status} in $((SECONDS - start)) s"
  return "${status}"
}

main "$@"
