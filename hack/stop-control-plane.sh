#!/usr/bin/env bash
# Stop the control plane that hack/start-control-plane.sh started from the same state
# dir (CIC_STATE_DIR, default ~/.cache/cloudinstance-controller/run): kill exactly the
# pids in <state>/pids (only if they still run our etcd/kube-apiserver binaries), wait
# for them to exit, and remove the etcd data, the pid file and the now stale kubeconfig.
# Certificates (<state>/pki) and logs are kept. Safe to run when nothing is running.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/versions.env
source "${HACK_DIR}/versions.env"

CACHE="${CIC_CACHE_DIR:-${HOME}/.cache/cloudinstance-controller}"
STATE="${CIC_STATE_DIR:-${CACHE}/run}"
APISERVER="${CACHE}/kubernetes-${KUBE_VERSION}/kube-apiserver"
ETCD="${CACHE}/etcd-${KUBE_VERSION}/etcd"
PIDS_FILE="${STATE}/pids"
# /proc/<pid>/exe shows resolved paths; compare against resolved paths.
APISERVER="$(readlink -f "${APISERVER}")"
ETCD="$(readlink -f "${ETCD}")"

log() { echo "[stop-control-plane] $*" >&2; }

pid_is_ours() {
  local pid="$1" exe
  exe="$(readlink "/proc/${pid}/exe" 2>/dev/null)" || return 1
  exe="${exe% (deleted)}" # the binary was rebuilt while it ran
  [[ "${exe}" == "${APISERVER}" || "${exe}" == "${ETCD}" ]]
}

pids=()
if [[ -f "${PIDS_FILE}" ]]; then
  while read -r pid name; do
    [[ -n "${pid}" ]] || continue
    if pid_is_ours "${pid}"; then
      pids+=("${pid}")
      log "stopping ${name} (pid ${pid})"
    fi
  done < "${PIDS_FILE}"
fi

# Stop in reverse start order, one at a time: kube-apiserver exits in about a second
# while etcd is still up, but takes over 10 s if etcd vanishes under it.
stop_pid() {
  local pid="$1"
  kill -TERM "${pid}" 2>/dev/null || true
  for _ in $(seq 1 300); do
    pid_is_ours "${pid}" || break
    sleep 0.1
  done
  if pid_is_ours "${pid}"; then
    log "pid ${pid} did not exit 30 s after SIGTERM; sending SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
    for _ in $(seq 1 50); do pid_is_ours "${pid}" || break; sleep 0.1; done
  fi
  if pid_is_ours "${pid}"; then
    log "ERROR: pid ${pid} is still running"
    return 1
  fi
  # Exited; give its parent (init, after start-control-plane.sh returned) a moment to
  # reap it so that no <defunct> entry lingers in ps.
  for _ in $(seq 1 50); do [[ -e "/proc/${pid}" ]] || break; sleep 0.1; done
}

for (( i=${#pids[@]}-1; i>=0; i-- )); do
  stop_pid "${pids[i]}"
done

rm -rf "${STATE}/etcd" "${STATE}/apiserver-certs"
rm -f "${PIDS_FILE}" "${STATE}/kubeconfig"
log "stopped (${#pids[@]} process(es)); etcd data removed from ${STATE}"
