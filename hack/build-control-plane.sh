#!/usr/bin/env bash
# Build kube-apiserver, etcd, kubectl and helm from Go modules (through the Go module
# proxy) once, and cache the binaries under ~/.cache/cloudinstance-controller/<name>-<version>/.
# A second run finds the cached binaries and returns in well under a second.
#
# Why from source: prebuilt release downloads are not reachable on our machines; the Go
# module proxy is. Versions are pinned in hack/versions.env.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/versions.env
source "${HACK_DIR}/versions.env"

CACHE="${CIC_CACHE_DIR:-${HOME}/.cache/cloudinstance-controller}"
mkdir -p "${CACHE}"

log() { echo "[build-control-plane] $*" >&2; }

# Run a long, silent step ("$1" names it) with a progress line every 30 s: elapsed time and
# how many Go packages the build cache holds (it grows while the compiler works). The
# ticker is this script's child and ends with the step (and on Ctrl-C/SIGTERM).
with_progress() {
  local what="$1" start=${SECONDS} ticker status=0
  shift
  (
    while sleep 30; do
      local n
      n="$(find "$(go env GOCACHE 2>/dev/null || echo /nonexistent)" -name '*-d' 2>/dev/null | wc -l)"
      echo "[build-control-plane]   ... ${what}: $((SECONDS - start)) s, ${n} compiled units cached" >&2
    done
  ) &
  ticker=$!
  trap 'kill "${ticker}" 2>/dev/null' EXIT
  trap 'kill "${ticker}" 2>/dev/null; exit 130' INT TERM
  "$@" || status=$?
  kill "${ticker}" 2>/dev/null || true
  wait "${ticker}" 2>/dev/null || true
  trap - EXIT INT TERM
  log "${what}: done in $((SECONDS - start)) s"
  return "${status}"
}

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    if [[ -x /usr/local/go/bin/go ]]; then
      export PATH="/usr/local/go/bin:${PATH}"
    else
      log "Go toolchain not found; installing Debian's golang-go"
      apt-get update -qq && apt-get install -y -qq golang-go >/dev/null
    fi
  fi
}

KUBE_DIR="${CACHE}/kubernetes-${KUBE_VERSION}"
ETCD_DIR="${CACHE}/etcd-${KUBE_VERSION}"
HELM_DIR="${CACHE}/helm-${HELM_VERSION}"

build_kube() {
  if [[ -x "${KUBE_DIR}/kube-apiserver" && -x "${KUBE_DIR}/kubectl" && -x "${ETCD_DIR}/etcd" ]]; then
    return 0
  fi
  need_go
  local work="${CACHE}/src/kubernetes-${KUBE_VERSION}"
  mkdir -p "${work}" "${KUBE_DIR}" "${ETCD_DIR}"
  local staging="v0.${KUBE_VERSION#v1.}"
  log "preparing throwaway module for k8s.io/kubernetes ${KUBE_VERSION} (staging ${staging})"
  (
    cd "${work}"
    export GOFLAGS=-mod=mod
    local gomod
    gomod="$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
    {
      echo "module cic.local/controlplane"
      echo
      echo "go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')"
      echo
      echo "require k8s.io/kubernetes ${KUBE_VERSION}"
      echo
      # every staging replace in kubernetes' own go.mod becomes the published v0.Y.Z module
      grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "${gomod}" | awk -v v="${staging}" '{print "replace " $1 " => " $1 " " v}'
    } > go.mod
    cat > tools.go <<'EOF'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
    log "go mod tidy (downloads modules on a cold cache)"
    go mod tidy >/dev/null 2>&1 || go mod tidy
    local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "${KUBE_VERSION}" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=${KUBE_VERSION} -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$(echo "${KUBE_VERSION}" | cut -d. -f2)"
    log "building etcd"
    with_progress "etcd" go build -trimpath -ldflags "-s -w" -o "${ETCD_DIR}/etcd.tmp" go.etcd.io/etcd/server/v3 && mv "${ETCD_DIR}/etcd.tmp" "${ETCD_DIR}/etcd"
    log "building kube-apiserver (several minutes on 2 cores on a cold cache)"
    with_progress "kube-apiserver" go build -trimpath -ldflags "${ldflags}" -o "${KUBE_DIR}/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver && mv "${KUBE_DIR}/kube-apiserver.tmp" "${KUBE_DIR}/kube-apiserver"
    log "building kubectl"
    with_progress "kubectl" go build -trimpath -ldflags "${ldflags}" -o "${KUBE_DIR}/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl && mv "${KUBE_DIR}/kubectl.tmp" "${KUBE_DIR}/kubectl"
  )
}

build_helm() {
  if [[ -x "${HELM_DIR}/helm" ]]; then
    return 0
  fi
  need_go
  local work="${CACHE}/src/helm-${HELM_VERSION}"
  mkdir -p "${work}" "${HELM_DIR}"
  (
    cd "${work}"
    export GOFLAGS=-mod=mod
    [[ -f go.mod ]] || go mod init cic.local/helm >/dev/null 2>&1
    go get "helm.sh/helm/v3@${HELM_VERSION}" >/dev/null 2>&1
    cat > tools.go <<'EOF'
//go:build tools

package tools

import _ "helm.sh/helm/v3/cmd/helm"
EOF
    go mod tidy >/dev/null 2>&1 || go mod tidy
    log "building helm ${HELM_VERSION}"
    with_progress "helm" go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" -o "${HELM_DIR}/helm.tmp" helm.sh/helm/v3/cmd/helm && mv "${HELM_DIR}/helm.tmp" "${HELM_DIR}/helm"
  )
}

build_kube
build_helm
log "binaries ready:"
log "  ${KUBE_DIR}/kube-apiserver"
log "  ${KUBE_DIR}/kubectl"
log "  ${ETCD_DIR}/etcd"
log "  ${HELM_DIR}/helm"
