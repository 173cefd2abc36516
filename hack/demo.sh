#!/usr/bin/env bash
# The local demo: one command from a fresh clone to VMs converging.
#
#   hack/demo.sh          # up: everything below, ends when every example instance is Ready
#   hack/demo.sh down     # stop the controller, the emulator and the control plane
#
# "up" does:
#   1. builds (once, cached) kube-apiserver, etcd, kubectl and helm from Go modules,
#      and the controller + cloud emulator with cargo;
#   2. starts the local control plane (kube-apiserver + etcd, RBAC on);
#   3. starts the cloud emulator (Tencent, Alibaba and Huawei APIs) on 127.0.0.1:4566,
#      state persisted in the demo dir;
#   4. `helm install`s the chart (CRDs, ServiceAccount, RBAC) into cloudinstance-system;
#   5. runs the controller locally AS THE CHART'S SERVICEACCOUNT (a token from the
#      TokenRequest API), with leader election as the chart configures it: a bare
#      apiserver runs no pods, so the Deployment itself never starts here;
#   6. `kubectl apply`s examples/ into namespace demo and shows `kubectl get cins`
#      until every instance is Ready (CIC_DEMO_TIMEOUT seconds, default 300).
# Everything keeps running afterwards; the commands to explore it are printed.
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

log() { echo "[demo] $*" >&2; }

kill_pidfile() {
  local f="$1"
  if [[ -f "${f}" ]]; then
    local pid
    pid="$(cat "${f}")"
    if kill -0 "${pid}" 2>/dev/null; then
      kill "${pid}" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.1; done
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

wait_http() {
  local url="$1" what="$2"
  for _ in $(seq 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "${url}" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  log "${what} did not come up (${url})"
  return 1
}

up() {
  mkdir -p "${DEMO}"
  "${ROOT}/hack/build-control-plane.sh"
  log "building the controller and the cloud emulator (cargo, debug profile)"
  (cd "${ROOT}" && cargo build --quiet -p cloudinstance-controller -p cloud-emulator --bins)

  # 2. control plane
  eval "$(CIC_STATE_DIR="${DEMO}/cp" "${ROOT}/hack/start-control-plane.sh")"
  export KUBECONFIG

  # 3. cloud emulator
  kill_pidfile "${DEMO}/emulator.pid"
  log "starting the cloud emulator on http://127.0.0.1:${PORT}"
  nohup "${TARGET}/cloud-emulator" serve --addr "127.0.0.1:${PORT}" \
    --state-file "${DEMO}/emulator-state.json" --transition-delay-ms 2000 \
    >"${DEMO}/emulator.log" 2>&1 &
  echo $! >"${DEMO}/emulator.pid"
  wait_http "http://127.0.0.1:${PORT}/_emulator/healthz" "cloud emulator"

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
  kill_pidfile "${DEMO}/controller.pid"
  log "starting the controller as system:serviceaccount:${RELEASE_NS}:${sa} (metrics on http://${METRICS}/metrics)"
  KUBECONFIG="${DEMO}/controller.kubeconfig" POD_NAME="demo-$$" POD_NAMESPACE="${RELEASE_NS}" \
    nohup "${TARGET}/cloudinstance-controller" run --metrics-addr "${METRICS}" \
    --leader-elect --leader-election-namespace "${RELEASE_NS}" \
    --allowed-endpoint "http://127.0.0.1:${PORT}" \
    >"${DEMO}/controller.log" 2>&1 &
  echo $! >"${DEMO}/controller.pid"
  wait_http "http://${METRICS}/healthz" "controller"

  # 6. the examples
  "${KUBECTL}" create namespace "${NS}" --dry-run=client -o yaml | "${KUBECTL}" apply -f - >/dev/null
  log "kubectl apply -n ${NS} -f examples/"
  "${KUBECTL}" apply -n "${NS}" -f "${ROOT}/examples/" | sed 's/^/  /'
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
Stop everything: hack/demo.sh down
EOF
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: hack/demo.sh [up|down]" >&2; exit 2 ;;
esac
