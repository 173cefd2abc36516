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
# 6. when no extra arguments are given, runs the README's two commands back to back:
#    a "user's" demo on the README's fixed ports (4566, 18080; skipped when something
#    already listens there, e.g. your own demo) is left running for the whole run, the
#    demo's "port taken" message is checked against it, and the suite's own demo runs on
#    ports chosen free at run time (CIC_TEST_USER_DEMO=0 skips the user's demo),
# 7. runs `cargo test --workspace --no-fail-fast -- --test-threads=${CIC_TEST_THREADS:-4}`
#    and exits with its status.
#
# Ctrl-C or SIGTERM stops everything it started (cargo, the test binaries and what they
# run, the demos, the control plane): long steps run in their own process group, which
# the trap ends.
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
# shellcheck source=hack/lib.sh
source "${HACK_DIR}/lib.sh"

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
  run_child "${HACK_DIR}/build-control-plane.sh"
  log "cargo build --workspace --all-targets"
  run_child cargo build --manifest-path "${ROOT}/Cargo.toml" --workspace --all-targets
}

STARTED_STATE_DIR=""
TEST_LOG=""
USER_DEMO_DIR=""
USER_DEMO_PIDS=""
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
  trap - INT TERM
  stop_child
  if [[ -n "${USER_DEMO_DIR}" ]]; then
    # the user's demo must have survived everything the suite did next to it: its emulator
    # (nothing of the suite may take its port or kill it); its controller may only have
    # exited on its own (e.g. a leader lease not renewed in time on a loaded machine),
    # which is reported, not failed
    local emu_pid ctl_pid
    read -r emu_pid ctl_pid <<<"${USER_DEMO_PIDS}"
    if [[ -n "${emu_pid}" ]] && ! kill -0 "${emu_pid}" 2>/dev/null && (( status == 0 )); then
      log "FAILED: the user's demo lost its emulator (pid ${emu_pid}) while the suite ran; logs in ${USER_DEMO_DIR}"
      status=1
    fi
    if [[ -n "${ctl_pid}" ]] && ! kill -0 "${ctl_pid}" 2>/dev/null; then
      log "warning: the user's demo controller (pid ${ctl_pid}) exited during the run:"
      tail -n 5 "${USER_DEMO_DIR}/controller.log" | sed 's/^/  /' >&2 || true
    fi
    CIC_DEMO_DIR="${USER_DEMO_DIR}" "${HACK_DIR}/demo.sh" down || true
    if (( status == 0 )); then rm -rf "${USER_DEMO_DIR}"; fi
  fi
  if [[ -n "${SUITE_DEMO_DIR:-}" ]]; then
    CIC_DEMO_DIR="${SUITE_DEMO_DIR}" "${HACK_DIR}/demo.sh" down || true
  fi
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
  run_child env CIC_STATE_DIR="${STARTED_STATE_DIR}" "${HACK_DIR}/start-control-plane.sh" >"${STARTED_STATE_DIR}/env"
  eval "$(cat "${STARTED_STATE_DIR}/env")"
  export KUBECONFIG
}

run_tests() {
  # every test binary runs even after one fails, so a failure never hides the others'
  # results (the exit status is still non-zero)
  if [[ " $* " != *" --no-fail-fast "* ]]; then set -- --no-fail-fast "$@"; fi
  log "cargo test --workspace $* -- --test-threads=${CIC_TEST_THREADS:-4}"
  TEST_LOG="$(mktemp "${TMPDIR:-/tmp}/cic-test-log.XXXXXX")"
  local status=0
  # shellcheck disable=SC2016 # expanded by the inner bash
  run_child bash -c 'set -o pipefail; cd "$1" && log="$2" && shift 2 &&
    cargo test --workspace "$@" 2>&1 | tee "${log}"' _ "${ROOT}" "${TEST_LOG}" \
    "$@" -- --test-threads="${CIC_TEST_THREADS:-4}" || status=$?
  return "${status}"
}

# The README's two commands back to back. A "user's" demo (the README's command, its fixed
# ports) is started and left running for the whole run, unless something already listens
# on those ports (then that is the user's demo). The suite's own demo then runs next to it
# on ports chosen free at run time and must end with every example instance Ready.
SUITE_DEMO_DIR=""
run_demo() {
  local status=0 out
  if [[ "${CIC_TEST_USER_DEMO:-1}" != 0 ]] && ! listeners 4566 >/dev/null && ! listeners 18080 >/dev/null; then
    USER_DEMO_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cic-user-demo.XXXXXX")"
    log "the user's demo: hack/demo.sh on the README's ports, left running (state in ${USER_DEMO_DIR})"
    run_child env CIC_DEMO_DIR="${USER_DEMO_DIR}" CIC_DEMO_TIMEOUT=240 "${HACK_DIR}/demo.sh" up
    USER_DEMO_PIDS="$(cat "${USER_DEMO_DIR}/emulator.pid") $(cat "${USER_DEMO_DIR}/controller.pid")"

    log "a second demo on the same fixed ports must refuse to start and name the holder"
    out="$(mktemp -d "${TMPDIR:-/tmp}/cic-demo-clash.XXXXXX")"
    if CIC_DEMO_DIR="${out}" "${HACK_DIR}/demo.sh" up >"${out}/output" 2>&1; then
      log "FAILED: a second demo started on ports the first one holds"; cat "${out}/output" >&2
      CIC_DEMO_DIR="${out}" "${HACK_DIR}/demo.sh" down || true
      return 1
    fi
    local emu_pid
    emu_pid="$(cat "${USER_DEMO_DIR}/emulator.pid")"
    if ! grep -q "port 4566 (cloud emulator, CIC_DEMO_EMULATOR_PORT) is already in use" "${out}/output" ||
      ! grep -q "pid ${emu_pid}" "${out}/output" || [[ -d "${out}/cp" ]]; then
      log "FAILED: the clash message does not name port 4566 and pid ${emu_pid}, or a control plane was started:"
      cat "${out}/output" >&2
      return 1
    fi
    grep 'already in use\|pid '"${emu_pid}" "${out}/output" | sed 's/^/  /' >&2
    rm -rf "${out}"
  else
    log "not starting a user's demo (CIC_TEST_USER_DEMO=0, or 4566/18080 already taken, e.g. by yours)"
  fi

  local ports emu metrics
  ports="$(free_ports 2)"
  read -r emu metrics <<<"${ports}"
  SUITE_DEMO_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cic-demo.XXXXXX")"
  log "the suite's demo on free ports ${emu} (emulator), ${metrics} (metrics), state in ${SUITE_DEMO_DIR}"
  run_child env CIC_DEMO_DIR="${SUITE_DEMO_DIR}" CIC_DEMO_TIMEOUT=240 CIC_DEMO_EMULATOR_PORT="${emu}" \
    CIC_DEMO_METRICS_ADDR="127.0.0.1:${metrics}" "${HACK_DIR}/demo.sh" up || status=$?
  CIC_DEMO_DIR="${SUITE_DEMO_DIR}" "${HACK_DIR}/demo.sh" down || true
  if (( status == 0 )); then rm -rf "${SUITE_DEMO_DIR}"; else log "demo failed; logs kept in ${SUITE_DEMO_DIR}"; fi
  SUITE_DEMO_DIR=""
  return "${status}"
}

main() {
  local start=${SECONDS}
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
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
