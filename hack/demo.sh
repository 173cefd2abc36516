#!/usr/bin/env bash
# The demo. For now: build (cached) and start the local control plane, and print how to
# use it. It stays up; stop it with hack/stop-control-plane.sh.
#
#   CIC_STATE_DIR  state dir of the control plane (default ~/.cache/cloudinstance-controller/run)
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/versions.env
source "${HACK_DIR}/versions.env"
CACHE="${CIC_CACHE_DIR:-${HOME}/.cache/cloudinstance-controller}"
KUBECTL="${CACHE}/kubernetes-${KUBE_VERSION}/kubectl"
HELM="${CACHE}/helm-${HELM_VERSION}/helm"

"${HACK_DIR}/build-control-plane.sh"
out="$("${HACK_DIR}/start-control-plane.sh")"
eval "${out}"

cat <<EOF

Local Kubernetes ${KUBE_VERSION} control plane is up (kube-apiserver + etcd, RBAC on).

  ${out}
  alias kubectl=${KUBECTL}
  alias helm=${HELM}

  kubectl get --raw /readyz
  kubectl get namespaces

It is a bare API server: no pods run, no garbage collection, no namespace finalization.
Stop it with:  $(dirname "${HACK_DIR}")/hack/stop-control-plane.sh
EOF
"${KUBECTL}" get --raw /readyz
echo
