#!/usr/bin/env bash
# Soak the reliability campaigns: run the crash campaign (tests/reliability_crash.rs)
# and/or the fault campaign (tests/reliability_faults.rs) over and over, each run with a
# fresh random seed, until a run fails or the count or time is used up.
#
#   hack/soak.sh                          # until the first failure (Ctrl-C to stop)
#   hack/soak.sh --runs 500               # at most 500 runs
#   hack/soak.sh --duration 30m           # start no run after 30 minutes (also 1h, 90s, 1h30m)
#   hack/soak.sh --campaign crash         # crash | fault | both (default both)
#   hack/soak.sh --source tree            # the working tree instead of HEAD (see below)
#   CIC_CAMPAIGN_SCALE=full hack/soak.sh  # the full size (default small)
#
# Every run's seed and outcome is appended to target/soak/soak.log (CIC_SOAK_DIR moves
# target/soak); a failed run's whole output stays in target/soak/runs/. At the first
# failure the soak stops and prints the seed, the command that replays it, and the
# failing run's problems with the history of every object and instance they name
# (campaign operations, status writes seen by a watch, the emulator's record and
# requests, every controller incarnation's log lines about them).
#
# What is soaked (--source):
#   head (default)  the committed HEAD, exported (git archive) to <soak dir>/src and built
#                   there with its own target dir: edits and rebuilds of the working tree
#                   by anyone during the soak change nothing (the first build is a full
#                   one; later ones rebuild only this workspace's crates);
#   tree            the working tree as it is, built in the usual target dir; the test
#                   binary and the emulator are copied, but the controller binary is the
#                   one the test names (<target>/debug/cloudinstance-controller), which a
#                   rebuild of the tree replaces: its sha256 is logged with every run.
# One run executes the test binaries directly (no cargo in the loop), both campaigns with
# the same seed; with --campaign both the two campaigns run side by side
# (CIC_SOAK_THREADS=1 runs them one after the other).
#
# The control plane: if KUBECONFIG is exported and that cluster answers /readyz = ok it is
# used and left running, else one is started (hack/start-control-plane.sh) and stopped at
# the end. Ctrl-C or SIGTERM stops the running campaign (its controllers and emulators)
# and whatever the script started. Only one soak runs at a time (a lock in the soak dir).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HACK_DIR="${ROOT}/hack"
# shellcheck source=hack/versions.env
source "${HACK_DIR}/versions.env"
CACHE="${CIC_CACHE_DIR:-${HOME}/.cache/cloudinstance-controller}"
TARGET="${CARGO_TARGET_DIR:-${ROOT}/target}"
export CIC_KUBECTL="${CACHE}/kubernetes-${KUBE_VERSION}/kubectl"
export CIC_HELM="${CACHE}/helm-${HELM_VERSION}/helm"
export CIC_BIN_DIR="${TARGET}/debug"

# messages go to the terminal's stderr (fd 3), also from a trap that fires while a run's
# output is redirected to its log file
exec 3>&2
log() { echo "[soak] $*" >&3; }
# shellcheck source=hack/lib.sh
source "${HACK_DIR}/lib.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

RUNS=0
DURATION=""
CAMPAIGN=both
SOURCE=head
while (( $# > 0 )); do
  case "$1" in
    --runs) RUNS="${2:?--runs N}"; shift 2 ;;
    --runs=*) RUNS="${1#*=}"; shift ;;
    --duration) DURATION="${2:?--duration 30m}"; shift 2 ;;
    --duration=*) DURATION="${1#*=}"; shift ;;
    --campaign) CAMPAIGN="${2:?--campaign crash|fault|both}"; shift 2 ;;
    --campaign=*) CAMPAIGN="${1#*=}"; shift ;;
    --source) SOURCE="${2:?--source head|tree}"; shift 2 ;;
    --source=*) SOURCE="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) log "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
done
[[ "${RUNS}" =~ ^[0-9]+$ ]] || { log "--runs takes a number, not ${RUNS}"; exit 2; }
[[ "${SOURCE}" == head || "${SOURCE}" == tree ]] || { log "--source takes head or tree, not ${SOURCE}"; exit 2; }

# seconds of "1h30m", "30m", "90s", "2h", "45" (seconds)
seconds_of() {
  local d="$1" total=0 n unit
  [[ "${d}" =~ ^[0-9]+$ ]] && { echo "${d}"; return; }
  [[ "${d}" =~ ^([0-9]+[hms])+$ ]] || return 1
  while [[ "${d}" =~ ^([0-9]+)([hms])(.*)$ ]]; do
    n="${BASH_REMATCH[1]}"; unit="${BASH_REMATCH[2]}"; d="${BASH_REMATCH[3]}"
    case "${unit}" in h) total=$((total + n * 3600)) ;; m) total=$((total + n * 60)) ;; s) total=$((total + n)) ;; esac
  done
  echo "${total}"
}
DEADLINE=0
if [[ -n "${DURATION}" ]]; then
  secs="$(seconds_of "${DURATION}")" || { log "--duration takes e.g. 30m, 1h, 90s, 1h30m, not ${DURATION}"; exit 2; }
  DEADLINE=$(( $(date +%s) + secs ))
fi

# test target:test name, one a campaign
CRASH=reliability_crash:crash_campaign_converges_without_leaks_or_duplicates
FAULT=reliability_faults:fault_campaign_converges_with_bounded_calls
case "${CAMPAIGN}" in
  crash) CAMPAIGNS=("${CRASH}") ;;
  fault) CAMPAIGNS=("${FAULT}") ;;
  both) CAMPAIGNS=("${CRASH}" "${FAULT}") ;;
  *) log "--campaign takes crash, fault or both, not ${CAMPAIGN}"; exit 2 ;;
esac
THREADS="${CIC_SOAK_THREADS:-${#CAMPAIGNS[@]}}"
export CIC_CAMPAIGN_SCALE="${CIC_CAMPAIGN_SCALE:-small}"

SOAK_DIR="${CIC_SOAK_DIR:-${ROOT}/target/soak}"
SOAK_LOG="${SOAK_DIR}/soak.log"
mkdir -p "${SOAK_DIR}/runs" "${SOAK_DIR}/bin"
exec 9>"${SOAK_DIR}/lock"
if ! flock -n 9; then
  log "another soak is running (lock ${SOAK_DIR}/lock held); one at a time"
  exit 1
fi

STARTED_STATE_DIR=""
CURRENT=""
cleanup() {
  local status=$?
  trap - INT TERM
  stop_child
  if [[ -n "${CURRENT}" ]]; then
    echo "$(date -u +%FT%TZ) ${CURRENT} INTERRUPTED (exit ${status})" >>"${SOAK_LOG}"
    echo "# $(date -u +%FT%TZ) soak interrupted" >>"${SOAK_LOG}"
  fi
  if [[ -n "${STARTED_STATE_DIR}" ]]; then
    CIC_STATE_DIR="${STARTED_STATE_DIR}" "${HACK_DIR}/stop-control-plane.sh" || status=1
    if (( status == 0 )); then rm -rf "${STARTED_STATE_DIR}"; else log "control plane logs kept in ${STARTED_STATE_DIR}"; fi
  fi
  exit "${status}"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

control_plane() {
  if [[ -n "${KUBECONFIG:-}" ]] &&
    [[ "$("${CIC_KUBECTL}" --request-timeout=3s get --raw /readyz 2>/dev/null || true)" == "ok" ]]; then
    log "using the already running cluster from KUBECONFIG=${KUBECONFIG}"
    return
  fi
  run_child "${HACK_DIR}/build-control-plane.sh"
  STARTED_STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cic-soak-cp.XXXXXX")"
  log "starting a control plane (state in ${STARTED_STATE_DIR})"
  run_child env CIC_STATE_DIR="${STARTED_STATE_DIR}" "${HACK_DIR}/start-control-plane.sh" >"${STARTED_STATE_DIR}/env"
  eval "$(cat "${STARTED_STATE_DIR}/env")"
  export KUBECONFIG
}

SRC="${ROOT}"
COMMIT=""
build() {
  COMMIT="$(git -C "${ROOT}" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if [[ "${SOURCE}" == head ]]; then
    # HEAD only, in a directory of its own; cargo rebuilds what changed since the last soak
    SRC="${SOAK_DIR}/src"
    TARGET="${SRC}/target"
    export CARGO_TARGET_DIR="${TARGET}"
    export CIC_BIN_DIR="${TARGET}/debug"
    mkdir -p "${SRC}"
    # replace the sources, keep target/; files get the current time (tar -m), so cargo
    # rebuilds this workspace's crates (not the dependencies) and never takes an older
    # build for the new sources
    find "${SRC}" -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +
    git -C "${ROOT}" archive HEAD | tar -x -m -C "${SRC}"
    log "soaking HEAD ${COMMIT} (exported to ${SRC}, target ${TARGET})"
  else
    log "soaking the working tree (commit ${COMMIT} plus uncommitted edits)"
  fi
  local targets=() c
  for c in "${CAMPAIGNS[@]}"; do targets+=("${c%%:*}"); done
  log "building the reliability tests (${targets[*]}), the controller and the emulator"
  local out="${SOAK_DIR}/build.json" args=() t bin
  for t in "${targets[@]}"; do args+=(--test "${t}"); done
  run_child cargo test --manifest-path "${SRC}/Cargo.toml" "${args[@]}" --no-run \
    --message-format=json-render-diagnostics >"${out}"
  for t in "${targets[@]}"; do
    bin="$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == sys.argv[2] and m.get("executable"):
        print(m["executable"])
' "${out}" "${t}" | tail -n 1)"
    [[ -n "${bin}" && -x "${bin}" ]] || { log "cannot find the ${t} test binary in ${out}"; exit 1; }
    # snapshots: edits and rebuilds of the tree during the soak do not change what runs
    cp -f "${bin}" "${SOAK_DIR}/bin/${t}"
  done
  run_child cargo build --manifest-path "${SRC}/Cargo.toml" -p cloud-emulator --bin cloud-emulator
  cp -f "${TARGET}/debug/cloud-emulator" "${SOAK_DIR}/bin/cloud-emulator"
  export CLOUD_EMULATOR_BIN="${SOAK_DIR}/bin/cloud-emulator"
}

# One run: every campaign (target:test) with its test binary from <bin dir>, side by side
# when <threads> > 1, else one after the other; each writes to <out>.<n> and the
# outputs are printed one after the other (so a log reads campaign by campaign). Fails when
# a campaign fails.
# shellcheck disable=SC2016
RUN_CAMPAIGNS='
bin_dir="$1" out="$2" threads="$3"; shift 3
status=0 pids=() files=()
for c in "$@"; do
  target="${c%%:*}" test="${c#*:}" file="${out}.${#files[@]}"
  files+=("${file}")
  "${bin_dir}/${target}" "${test}" --exact --nocapture --test-threads=1 >"${file}" 2>&1 &
  if (( threads > 1 )); then pids+=($!); else wait $! || status=1; fi
done
for p in "${pids[@]}"; do wait "${p}" || status=1; done
for f in "${files[@]}"; do cat "${f}"; rm -f "${f}"; done
exit "${status}"
'

controller_sha() {
  sha256sum "${TARGET}/debug/cloudinstance-controller" 2>/dev/null | cut -c1-12 || echo missing
}

# The failing run's problems and histories (the panic messages), not the full controller
# logs the test harness also dumps.
show_failure() {
  local file="$1"
  grep -E '^\[(crash|faults)\] seed ' "${file}" >&3 || true
  awk '
    /panicked at/ { on = 1 }
    /^--- controller log \(/ || /^---- cloud-emulator stderr/ { on = 0 }
    /^failures:$/ { on = 0 }
    on { print }
    /^test result:/ { print }
  ' "${file}" | head -n 3000 >&3
}

main() {
  control_plane
  build
  local what
  if [[ "${SOURCE}" == head ]]; then
    what="HEAD ${COMMIT}"
  else
    what="working tree at ${COMMIT} with $(git -C "${ROOT}" status --porcelain --untracked-files=no 2>/dev/null | wc -l) modified file(s)"
  fi
  echo "# $(date -u +%FT%TZ) soak start: campaign ${CAMPAIGN}, scale ${CIC_CAMPAIGN_SCALE}, threads ${THREADS}, ${what}, runs ${RUNS:-0} (0 = unlimited), duration ${DURATION:-unlimited}" >>"${SOAK_LOG}"
  local run=0 passed=0 start=${SECONDS}
  while :; do
    if (( RUNS > 0 && run >= RUNS )); then break; fi
    if (( DEADLINE > 0 && $(date +%s) >= DEADLINE )); then break; fi
    run=$((run + 1))
    local seed out status=0 t0=${SECONDS} sha
    seed="$(od -An -N8 -tu8 /dev/urandom | tr -d ' \n')"
    out="${SOAK_DIR}/runs/run-$(date -u +%Y%m%dT%H%M%S)-${seed}.log"
    sha="$(controller_sha)"
    log "run ${run}: seed ${seed}"
    CURRENT="run ${run} seed ${seed} campaign ${CAMPAIGN}"
    run_child env CIC_CAMPAIGN_SEED="${seed}" RUST_BACKTRACE=0 \
      CLOUD_EMULATOR_LOG="${CLOUD_EMULATOR_LOG:-warn,cloud_emulator::faults=debug}" \
      bash -c "${RUN_CAMPAIGNS}" run-campaigns "${SOAK_DIR}/bin" "${out}" "${THREADS}" "${CAMPAIGNS[@]}" \
      >"${out}" 2>&1 || status=$?
    CURRENT=""
    local secs=$((SECONDS - t0)) figures
    figures="$(grep -E '^\[(crash|faults)\] [0-9]+ objects' "${out}" |
      sed -E 's/^\[(crash|faults)\] ([0-9]+ objects[^;]*);.*(cloud: [0-9]+ live, [0-9]+ terminated).*/\1: \2, \3/' |
      paste -sd '|' - || true)"
    if (( status == 0 )) && (( $(grep -c '^test result: ok' "${out}") == ${#CAMPAIGNS[@]} )); then
      passed=$((passed + 1))
      echo "$(date -u +%FT%TZ) run ${run} seed ${seed} campaign ${CAMPAIGN} ok ${secs}s controller ${sha} | ${figures}" >>"${SOAK_LOG}"
      rm -f "${out}"
      continue
    fi
    echo "$(date -u +%FT%TZ) run ${run} seed ${seed} campaign ${CAMPAIGN} FAILED (exit ${status}) ${secs}s controller ${sha} output ${out}" >>"${SOAK_LOG}"
    log "run ${run} FAILED with seed ${seed} after ${passed} passing run(s); output in ${out}"
    local c
    for c in "${CAMPAIGNS[@]}"; do
      log "replay: CIC_CAMPAIGN_SEED=${seed} cargo test --test ${c%%:*} ${c#*:} -- --exact --nocapture"
    done
    show_failure "${out}"
    log "run ${run} FAILED: seed ${seed} (full output ${out}; seeds and outcomes in ${SOAK_LOG})"
    echo "# $(date -u +%FT%TZ) soak stopped at the first failure: ${passed} passed, 1 failed in $((SECONDS - start))s" >>"${SOAK_LOG}"
    return 1
  done
  echo "# $(date -u +%FT%TZ) soak done: ${passed} of ${run} run(s) passed in $((SECONDS - start))s" >>"${SOAK_LOG}"
  log "done: ${passed} of ${run} run(s) passed in $((SECONDS - start)) s; seeds and outcomes in ${SOAK_LOG}"
}

main
