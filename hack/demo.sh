#!/usr/bin/env bash
# make demo: a throwaway local control plane, the kubeext.dev CRDs, and the sample
# ExtensionType and Extension, shown with kubectl. The control plane stops on exit,
# Ctrl-C included.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-bin}"
work="$(mktemp -d "${TMPDIR:-/tmp}/kubeext-demo.XXXXXX")"
export KUBECONFIG="$work/kubeconfig"
export PATH="$PWD/$BIN:$PATH"
cluster_pid=""

cleanup() {
  if [[ -n "$cluster_pid" ]] && kill -0 "$cluster_pid" 2>/dev/null; then
    kill -TERM "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Starting a throwaway control plane (kube-apiserver + etcd, CRDs installed)"
"$BIN/localcluster" --kubeconfig "$KUBECONFIG" &
cluster_pid=$!
for _ in $(seq 1 180); do
  [[ -f "$KUBECONFIG" ]] && break
  kill -0 "$cluster_pid" 2>/dev/null || { echo "the control plane did not start" >&2; exit 1; }
  sleep 0.5
done
[[ -f "$KUBECONFIG" ]] || { echo "the control plane did not become ready in 90s" >&2; exit 1; }

step "The plugin, found by kubectl on PATH"
run kubectl ext version

step "Applying the sample ExtensionType and Extension"
run kubectl apply -f examples/extensiontype-podinfo.yaml
run kubectl apply -f examples/extension-podinfo.yaml

step "The catalog and the extensions"
run kubectl get exttype,ext

step "Done; stopping the control plane"
