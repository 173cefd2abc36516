#!/usr/bin/env bash
# Start a local, bare Kubernetes control plane: etcd + kube-apiserver on free loopback
# ports, RBAC on, client-certificate admin. No kubelet, no controller-manager, no
# scheduler: nothing runs pods, garbage-collects ownerReferences or finalizes namespaces.
#
#   CIC_STATE_DIR   state dir (default ~/.cache/cloudinstance-controller/run)
#   CIC_CACHE_DIR   binary cache (default ~/.cache/cloudinstance-controller)
#   CIC_START_TIMEOUT  seconds to wait for /readyz (default 180)
#
# Writes <state>/kubeconfig (admin, CN=admin O=system:masters), <state>/pids (one
# "<pid> <name>" line per server started, the servers' own pids), <state>/*.log.
# If a control plane from the same state dir is already up and healthy it is reused.
# Stop it with hack/stop-control-plane.sh (same CIC_STATE_DIR).
#
# stdout carries only the machine-friendly result (`export KUBECONFIG=...`); progress
# goes to stderr, so `eval "$(hack/start-control-plane.sh)"` works.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/versions.env
source "${HACK_DIR}/versions.env"
# shellcheck source=hack/lib.sh
source "${HACK_DIR}/lib.sh" # free_ports

CACHE="${CIC_CACHE_DIR:-${HOME}/.cache/cloudinstance-controller}"
STATE="${CIC_STATE_DIR:-${CACHE}/run}"
TIMEOUT="${CIC_START_TIMEOUT:-180}"

APISERVER="${CACHE}/kubernetes-${KUBE_VERSION}/kube-apiserver"
KUBECTL="${CACHE}/kubernetes-${KUBE_VERSION}/kubectl"
ETCD="${CACHE}/etcd-${KUBE_VERSION}/etcd"

log() { echo "[start-control-plane] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ ! -x "${APISERVER}" || ! -x "${KUBECTL}" || ! -x "${ETCD}" ]]; then
  log "binaries missing; running hack/build-control-plane.sh"
  "${HACK_DIR}/build-control-plane.sh"
fi
# /proc/<pid>/exe shows resolved paths; compare against resolved paths.
APISERVER="$(readlink -f "${APISERVER}")"
ETCD="$(readlink -f "${ETCD}")"
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
command -v python3 >/dev/null || die "python3 not found (used to pick free ports)"

mkdir -p "${STATE}"
STATE="$(cd "${STATE}" && pwd)"
KUBECONFIG_FILE="${STATE}/kubeconfig"
PIDS_FILE="${STATE}/pids"
PKI="${STATE}/pki"

print_result() {
  log "kubeconfig: ${KUBECONFIG_FILE}"
  log "kubectl:    ${KUBECTL}"
  echo "export KUBECONFIG=${KUBECONFIG_FILE}"
}

readyz() {
  [[ -f "${KUBECONFIG_FILE}" ]] || return 1
  local out
  out="$("${KUBECTL}" --kubeconfig "${KUBECONFIG_FILE}" --request-timeout=3s get --raw /readyz 2>/dev/null)" || return 1
  [[ "${out}" == "ok" ]]
}

# A pid from the pid file counts as ours only if it still runs one of our binaries.
pid_is_ours() {
  local pid="$1" exe
  exe="$(readlink "/proc/${pid}/exe" 2>/dev/null)" || return 1
  exe="${exe% (deleted)}" # the binary was rebuilt while it ran
  [[ "${exe}" == "${APISERVER}" || "${exe}" == "${ETCD}" ]]
}

all_pids_alive() {
  [[ -s "${PIDS_FILE}" ]] || return 1
  local pid _name
  while read -r pid _name; do
    pid_is_ours "${pid}" || return 1
  done < "${PIDS_FILE}"
}

# ---- reuse a healthy control plane from the same state dir --------------------------
if all_pids_alive && readyz; then
  log "control plane in ${STATE} is already up and ready; reusing it"
  print_result
  exit 0
fi
if [[ -s "${PIDS_FILE}" ]]; then
  log "stale or unhealthy control plane in ${STATE}; stopping it first"
  CIC_STATE_DIR="${STATE}" "${HACK_DIR}/stop-control-plane.sh"
fi

# ---- certificates (generated once per state dir) ------------------------------------
gen_pki() {
  mkdir -p "${PKI}"
  local tmp
  tmp="$(mktemp -d)"
  (
    cd "${tmp}"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
      -keyout ca.key -out ca.crt -subj "/CN=cloudinstance-controller-local-ca" 2>/dev/null

    cat > serving.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1
EOF
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -days 3650 -sha256 -extfile serving.ext -out apiserver.crt 2>/dev/null

    cat > client.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr \
      -subj "/O=system:masters/CN=admin" 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -days 3650 -sha256 -extfile client.ext -out admin.crt 2>/dev/null

    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
    mv ca.key ca.crt apiserver.key apiserver.crt admin.key admin.crt sa.key sa.pub "${PKI}/"
  )
  rm -rf "${tmp}"
}
if [[ ! -s "${PKI}/sa.pub" ]]; then
  log "generating CA, serving, admin client and service-account keys in ${PKI}"
  gen_pki
fi

write_kubeconfig() {
  local port="$1"
  b64() { base64 -w0 < "$1"; }
  umask 077
  cat > "${KUBECONFIG_FILE}.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cic-local
  cluster:
    server: https://127.0.0.1:${port}
    certificate-authority-data: $(b64 "${PKI}/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(b64 "${PKI}/admin.crt")
    client-key-data: $(b64 "${PKI}/admin.key")
contexts:
- name: cic-local
  context:
    cluster: cic-local
    user: admin
    namespace: default
current-context: cic-local
EOF
  mv "${KUBECONFIG_FILE}.tmp" "${KUBECONFIG_FILE}"
}

STARTED_PIDS=()
kill_started() {
  local i pid
  # Reverse order (kube-apiserver before etcd); they are our children: reap them.
  for (( i=${#STARTED_PIDS[@]}-1; i>=0; i-- )); do
    pid="${STARTED_PIDS[i]}"
    kill "${pid}" 2>/dev/null || true
    for _ in $(seq 1 150); do pid_is_ours "${pid}" || break; sleep 0.1; done
    kill -9 "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
  done
  STARTED_PIDS=()
  rm -f "${PIDS_FILE}" "${KUBECONFIG_FILE}"
  rm -rf "${STATE}/etcd"
}

# Start a server detached from our session, stdio to its log. The background child
# execs the binary directly (setsid does not fork when not a group leader), so $! is
# the server's own pid; this is verified through /proc/<pid>/exe.
spawn() {
  local name="$1" bin="$2"
  shift 2
  setsid "${bin}" "$@" </dev/null >>"${STATE}/${name}.log" 2>&1 &
  local pid=$!
  local exe=""
  for _ in $(seq 1 50); do
    exe="$(readlink "/proc/${pid}/exe" 2>/dev/null || true)"
    [[ "${exe}" == "${bin}" ]] && break
    sleep 0.02
  done
  if [[ "${exe}" != "${bin}" ]]; then
    log "${name}: pid ${pid} is not ${bin} (exe=${exe:-gone})"
    kill "${pid}" 2>/dev/null || true
    return 1
  fi
  STARTED_PIDS+=("${pid}")
  echo "${pid} ${name}" >> "${PIDS_FILE}"
}

start_once() {
  local etcd_client etcd_peer apiserver_port
  read -r etcd_client etcd_peer apiserver_port <<<"$(free_ports 3)"
  rm -rf "${STATE}/etcd"
  : > "${PIDS_FILE}"
  log "etcd on 127.0.0.1:${etcd_client}, kube-apiserver on 127.0.0.1:${apiserver_port}"

  spawn etcd "${ETCD}" \
    --name=cic-local \
    --data-dir="${STATE}/etcd" \
    --listen-client-urls="http://127.0.0.1:${etcd_client}" \
    --advertise-client-urls="http://127.0.0.1:${etcd_client}" \
    --listen-peer-urls="http://127.0.0.1:${etcd_peer}" \
    --initial-advertise-peer-urls="http://127.0.0.1:${etcd_peer}" \
    --initial-cluster="cic-local=http://127.0.0.1:${etcd_peer}" \
    --unsafe-no-fsync=true \
    --log-level=warn || return 1

  spawn kube-apiserver "${APISERVER}" \
    --etcd-servers="http://127.0.0.1:${etcd_client}" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="${apiserver_port}" \
    --cert-dir="${STATE}/apiserver-certs" \
    --tls-cert-file="${PKI}/apiserver.crt" \
    --tls-private-key-file="${PKI}/apiserver.key" \
    --client-ca-file="${PKI}/ca.crt" \
    --service-account-key-file="${PKI}/sa.pub" \
    --service-account-signing-key-file="${PKI}/sa.key" \
    --service-account-issuer="https://kubernetes.default.svc.cluster.local" \
    --api-audiences="https://kubernetes.default.svc.cluster.local" \
    --authorization-mode=Node,RBAC \
    --service-cluster-ip-range=10.96.0.0/16 \
    --endpoint-reconciler-type=none \
    --v=1 || return 1

  write_kubeconfig "${apiserver_port}"

  local start=${SECONDS} pid name
  while true; do
    while read -r pid name; do
      if ! kill -0 "${pid}" 2>/dev/null; then
        log "${name} (pid ${pid}) exited during startup; last lines of ${STATE}/${name}.log:"
        tail -n 20 "${STATE}/${name}.log" >&2 || true
        return 1
      fi
    done < "${PIDS_FILE}"
    if readyz; then
      log "kube-apiserver ready (/readyz = ok) after $((SECONDS - start)) s"
      return 0
    fi
    if (( SECONDS - start > TIMEOUT )); then
      log "kube-apiserver not ready after ${TIMEOUT} s; last lines of ${STATE}/kube-apiserver.log:"
      tail -n 20 "${STATE}/kube-apiserver.log" >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

# Fresh logs for this start (retries below append to them).
: > "${STATE}/etcd.log"
: > "${STATE}/kube-apiserver.log"

# Interrupted half-way: do not leave servers behind.
trap 'kill_started; exit 130' INT TERM

# A port picked as free can be taken by someone else before the server binds it;
# retry a couple of times on any startup failure.
for attempt in 1 2 3; do
  if start_once; then
    log "pids: $(tr '\n' ' ' < "${PIDS_FILE}")(in ${PIDS_FILE}); logs: ${STATE}/*.log"
    print_result
    exit 0
  fi
  kill_started
  log "attempt ${attempt} failed"
done
die "could not start the control plane; see ${STATE}/*.log"
