#!/usr/bin/env bash
# The local demo: one command from a fresh clone to VMs converging.
#
#   hack/demo.sh          # up: everything below, ends when every example instance is Ready
#   hack/demo.sh down     # stop the controller, the emulator and the control plane
#
# "up" does:
#   1. builds (once, cached) kube-apiserver, etcd, kubectl and helm from Go modules,
#      and the controller + cloud emulator with cargo (its progress is shown);
#   2. starts the local control plane (kube-apiserver + etcd on free ports, RBAC on);
#   3. starts the cloud emulator (Tencent, Alibaba and Huawei APIs) on 127.0.0.1:4566,
#      state persisted in the demo dir;
#   4. `helm install`s the chart (CRDs, ServiceAccount, RBAC) into cloudinstance-system;
#   5. runs the controller locally AS THE CHART'S SERVICEACCOUNT (a token from the
#      TokenRequest API), with leader election as the chart configures it: a bare
#      apiserver runs no pods, so the Deployment itself never starts here;
#   6. `kubectl apply`s examples/ into namespace demo and shows `kubectl get cins`
#      until every instance is Ready (CIC_DEMO_TIMEOUT seconds, default 300).
# Everything keeps running afterwards; the commands to explore it are printed.
#
# Environment:
#   CIC_DEMO_DIR             state and logs (default ~/.cache/cloudinstance-controller/demo)
#   CIC_DEMO_EMULATOR_PORT   emulator port on 127.0.0.1 (default 4566)
#   CIC_DEMO_METRICS_ADDR    controller /metrics, /healthz address (default 127.0.0.1:18080)
#   CIC_DEMO_TIMEOUT         seconds to wait for every example to be Ready (default 300)
#
# The two ports are checked before anything starts: if another process listens on one,
# "up" stops with the `ss -ltnp` line of that process and how to pick other ports.
# A readiness wait only succeeds once the process this script started is the one
# listening on the port (its pid owns the listening socket), so a demo never mistakes
# someone else's emulator or controller for its own.
# Interrupting "up" (Ctrl-C, SIGTERM) or a failed "up" stops everything it started
# (logs are kept in the demo dir).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/versions.env
source "${ROOT}/hack/versions.env"
CACHE="${CIC_CACHE_DIR:-${HOME}/.cache/cloudinstance-controller}"
DEMO="${CIC_DEMO_DIR:-${CACHE}/demo}"
KUBECTL="${CACHE}/kubernetes-${KUBE_VERSION}/kubectl"
HELM="${CACHE}/helm-${HELM_VERSION}/helm"
PORT="${CIC_DEMO_EMULATOR_PORT:-4566}"
METRICS="${CIC_DEMO_METRICS_ADDR:-127.0.0.1:18080}"
TIMEOUT="${CIC_DEMO_TIMEOUT:-300}"
NS=demo
RELEASE=cloudinstance-controller
RELEASE_NS=cloudinstance-system
TARGET="${CARGO_TARGET_DIR:-${ROOT}/target}/debug"

METRICS_PORT="${METRICS##*:}"
EMULATOR_BIN="${TARGET}/cloud-emulator"
CONTROLLER_BIN="${TARGET}/cloudinstance-controller"

log() { echo "[demo] $*" >&2; }
# shellcheck source=hack/lib.sh
source "${ROOT}/hack/lib.sh"

# A pid from a pid file counts as ours only if it still runs one of our two binaries
# (pids are reused).
pid_is_ours() {
  local pid="$1" exe
  [[ -n "${pid}" ]] || return 1
  exe="$(readlink "/proc/${pid}/exe" 2>/dev/null)" || return 1
  exe="${exe% (deleted)}" # rebuilt while it ran
  [[ "${exe}" == "$(readlink -f "${EMULATOR_BIN}")" || "${exe}" == "$(readlink -f "${CONTROLLER_BIN}")" ]]
}

kill_pidfile() {
  local f="$1"
  if [[ -f "${f}" ]]; then
    local pid
    pid="$(cat "${f}")"
    if pid_is_ours "${pid}"; then
      kill "${pid}" 2>/dev/null || true
      for _ in $(seq 50); do pid_is_ours "${pid}" || break; sleep 0.1; done
      kill -9 "${pid}" 2>/dev/null || true
    fi
    rm -f "${f}"
  fi
}

down() {
  kill_pidfile "${DEMO}/controller.pid"
  kill_pidfile "${DEMO}/emulator.pid"
  if [[ -d "${DEMO}/cp" ]]; then
    CIC_STATE_DIR="${DEMO}/cp" "${ROOT}/hack/stop-control-plane.sh" || true
  fi
  log "stopped"
}

# Fails with a clear message when another process already listens on port $1.
require_free_port() {
  local port="$1" what="$2"
  listeners "${port}" >/dev/null || return 0
  log "ERROR: port ${port} (${what}) is already in use by:"
  describe_listeners "${port}" "[demo]"
  log "stop it (another demo: CIC_DEMO_DIR=<its dir> hack/demo.sh down), or run this demo on other ports:"
  log "  CIC_DEMO_EMULATOR_PORT=<port> CIC_DEMO_METRICS_ADDR=127.0.0.1:<port> CIC_DEMO_DIR=<dir> hack/demo.sh"
  return 1
}

# Waits until the process we started ($1) listens on port $2 and answers $3: the pid
# must own the listening socket, so a foreign process on the same port never passes.
wait_ours() {
  local pid="$1" port="$2" url="$3" what="$4" logfile="$5"
  for _ in $(seq 150); do
    if ! kill -0 "${pid}" 2>/dev/null; then
      log "ERROR: the ${what} (pid ${pid}) exited; last lines of ${logfile}:"
      tail -n 20 "${logfile}" | sed 's/^/[demo]   /' >&2
      return 1
    fi
    if listeners "${port}" 2>/dev/null | grep -qx "${pid}" &&
      python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "${url}" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  log "ERROR: the ${what} (pid ${pid}) did not answer ${url} within 30 s; log: ${logfile}"
  return 1
}

# The examples with the emulator endpoint pointed at this demo's emulator port.
examples_yaml() {
  local f
  for f in "${ROOT}"/examples/*.yaml; do
    echo "---"
    sed "s#http://127\.0\.0\.1:4566#http://127.0.0.1:${PORT}#g" "${f}"
  done
}

UP_DONE=0
on_up_exit() {
  local status=$?
  if (( UP_DONE == 0 )); then
    stop_child
    log "interrupted or failed (status ${status}): stopping what this run started (logs stay in ${DEMO})"
    down
  fi
  exit "${status}"
}

up() {
  mkdir -p "${DEMO}"
  trap on_up_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  run_child "${ROOT}/hack/build-control-plane.sh"
  log "building the controller and the cloud emulator (cargo, debug profile)"
  run_child cargo build --manifest-path "${ROOT}/Cargo.toml" -p cloudinstance-controller -p cloud-emulator --bins

  # a re-run replaces this demo's own emulator and controller; anything else on the
  # ports is someone else's
  kill_pidfile "${DEMO}/controller.pid"
  kill_pidfile "${DEMO}/emulator.pid"
  require_free_port "${PORT}" "cloud emulator, CIC_DEMO_EMULATOR_PORT"
  require_free_port "${METRICS_PORT}" "controller metrics, CIC_DEMO_METRICS_ADDR"

  # 2. control plane
  run_child env CIC_STATE_DIR="${DEMO}/cp" "${ROOT}/hack/start-control-plane.sh" >"${DEMO}/cp.env"
  eval "$(cat "${DEMO}/cp.env")"
  export KUBECONFIG

  # 3. cloud emulator
  log "starting the cloud emulator on http://127.0.0.1:${PORT}"
  nohup "${EMULATOR_BIN}" serve --addr "127.0.0.1:${PORT}" \
    --state-file "${DEMO}/emulator-state.json" --transition-delay-ms 2000 \
    >"${DEMO}/emulator.log" 2>&1 &
  echo $! >"${DEMO}/emulator.pid"
  wait_ours "$(cat "${DEMO}/emulator.pid")" "${PORT}" "http://127.0.0.1:${PORT}/_emulator/healthz" \
    "cloud emulator" "${DEMO}/emulator.log"

  # 4. the chart: CRDs + ServiceAccount + RBAC (+ a Deployment that cannot run here)
  log "helm upgrade --install ${RELEASE} charts/cloudinstance-controller -n ${RELEASE_NS}"
  "${HELM}" upgrade --install "${RELEASE}" "${ROOT}/charts/cloudinstance-controller" \
    --namespace "${RELEASE_NS}" --create-namespace \
    --set "allowedEndpoints={http://127.0.0.1:${PORT}}" >/dev/null
  # helm never upgrades CRDs; keep them current for re-runs after a CRD change
  "${KUBECTL}" apply --server-side --force-conflicts -f "${ROOT}/crds/crds.yaml" >/dev/null

  # 5. the controller, as the chart's ServiceAccount
  local sa token server ca
  sa="$("${KUBECTL}" get serviceaccounts -n "${RELEASE_NS}" -l app.kubernetes.io/instance="${RELEASE}" -o jsonpath='{.items[0].metadata.name}')"
  token="$("${KUBECTL}" create token "${sa}" -n "${RELEASE_NS}" --duration=24h)"
  server="$("${KUBECTL}" config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
  ca="$("${KUBECTL}" config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
  umask 077
  cat >"${DEMO}/controller.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "${server}", certificate-authority-data: "${ca}"}
users:
- name: ${sa}
  user: {token: "${token}"}
contexts:
- name: controller
  context: {cluster: local, user: ${sa}}
current-context: controller
EOF
  umask 022
  log "starting the controller as system:serviceaccount:${RELEASE_NS}:${sa} (metrics on http://${METRICS}/metrics)"
  KUBECONFIG="${DEMO}/controller.kubeconfig" POD_NAME="demo-$$" POD_NAMESPACE="${RELEASE_NS}" \
    nohup "${CONTROLLER_BIN}" run --metrics-addr "${METRICS}" \
    --leader-elect --leader-election-namespace "${RELEASE_NS}" \
    --allowed-endpoint "http://127.0.0.1:${PORT}" \
    >"${DEMO}/controller.log" 2>&1 &
  echo $! >"${DEMO}/controller.pid"
  wait_ours "$(cat "${DEMO}/controller.pid")" "${METRICS_PORT}" "http://${METRICS}/healthz" \
    "controller" "${DEMO}/controller.log"

  # 6. the examples
  "${KUBECTL}" create namespace "${NS}" --dry-run=client -o yaml | "${KUBECTL}" apply -f - >/dev/null
  log "kubectl apply -n ${NS} -f examples/ (endpoint http://127.0.0.1:${PORT})"
  examples_yaml | "${KUBECTL}" apply -n "${NS}" -f - | sed 's/^/  /'
  echo
  local start=$SECONDS last="" now total ready
  while true; do
    now="$("${KUBECTL}" get cloudinstances -n "${NS}" 2>/dev/null || true)"
    if [[ "${now}" != "${last}" ]]; then
      printf '\n[%3ds] kubectl get cins -n %s\n%s\n' $((SECONDS - start)) "${NS}" "${now}"
      last="${now}"
    fi
    total="$("${KUBECTL}" get cloudinstances -n "${NS}" -o name | wc -l)"
    ready="$("${KUBECTL}" get cloudinstances -n "${NS}" \
      -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$' || true)"
    if (( total > 0 && ready == total )); then
      break
    fi
    if (( SECONDS - start > TIMEOUT )); then
      log "not all instances Ready after ${TIMEOUT}s (${ready}/${total}); controller log: ${DEMO}/controller.log"
      "${KUBECTL}" get cloudinstances -n "${NS}" -o yaml | grep -A4 'type: Synced' || true
      exit 1
    fi
    sleep 1
  done
  printf '\n[%3ds] kubectl get cins -n %s\n' $((SECONDS - start)) "${NS}"
  "${KUBECTL}" get cloudinstances -n "${NS}"
  UP_DONE=1
  local DOWN_CMD="hack/demo.sh down"
  [[ -z "${CIC_DEMO_DIR:-}" ]] || DOWN_CMD="CIC_DEMO_DIR=${DEMO} hack/demo.sh down"
  cat <<EOF

All ${total} example instances are Ready ($((SECONDS - start)) s). Everything keeps running:

  export KUBECONFIG=${KUBECONFIG}
  alias kubectl=${KUBECTL}
  kubectl get cloudcredentials,cloudinstances -n ${NS}
  kubectl describe cins -n ${NS} tencent-web          # conditions and events
  kubectl patch cins -n ${NS} tencent-web --type merge -p '{"spec":{"powerState":"Stopped"}}'
  kubectl wait -n ${NS} cins/tencent-web --for=jsonpath='{.status.state}'=Stopped
  curl -s http://${METRICS}/metrics | grep ^cloudinstance_
  curl -s http://127.0.0.1:${PORT}/_emulator/instances     # the cloud's view

Logs: ${DEMO}/controller.log, ${DEMO}/emulator.log
Stop everything: ${DOWN_CMD}
EOF
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: hack/demo.sh [up|down]" >&2; exit 2 ;;
esac
