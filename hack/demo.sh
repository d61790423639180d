#!/usr/bin/env bash
# make demo: a throwaway local control plane, the kubeext.dev CRDs, a catalog entry
# whose charts are served from a local directory, and an extension taken through
# create -> show -> list -> update -> delete with the real kubectl. The control plane
# stops on exit, Ctrl-C included.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-bin}"
work="$(mktemp -d "${TMPDIR:-/tmp}/kubeext-demo.XXXXXX")"
export KUBECONFIG="$work/kubeconfig"
export PATH="$PWD/$BIN:$PATH"
export XDG_CACHE_HOME="$work/cache"
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
run() { printf '$'; printf ' %q' "$@"; printf '\n'; "$@"; }

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

step "A catalog entry: podinfo, versions 1.4.0 to 2.0.0, charts in a local directory"
"$BIN/democharts" "$work/charts"
sed "s#https://stefanprodan.github.io/podinfo#file://$work/charts#" examples/extensiontype-podinfo.yaml >"$work/type.yaml"
run kubectl apply -f "$work/type.yaml"

# The demo cluster runs no controllers, so workloads never become ready: --no-wait.
step "Create an extension with settings and a protected setting (auto-upgrade, Stable train)"
run kubectl ext create podinfo --extension-type example.podinfo --release-namespace podinfo \
  --config replicaCount=2 message="hello from kubectl ext" --config-protected apiKey=demo-secret --no-wait

step "Show it: the protected setting's key, never its value"
run kubectl ext show podinfo

step "List the extensions"
run kubectl ext list

step "A request the policies refuse: a protected namespace"
run kubectl ext create other --extension-type example.podinfo --release-namespace kube-system || true

step "Update one setting; the others stay"
run kubectl ext update podinfo --config replicaCount=3 --no-wait
run kubectl get ext podinfo

step "Delete it: release, protected settings and record"
run kubectl ext delete podinfo --yes --no-wait
run kubectl ext list

step "Done; stopping the control plane"
