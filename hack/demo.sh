#!/usr/bin/env bash
# make demo: the whole product on a throwaway local cluster whose pods become Ready
# (kube-apiserver, kube-controller-manager, kube-scheduler and a kwok node: see
# bin/localcluster --ready), with the admission webhook running and registered, and at
# the end the extension manager installing a declared Extension and correcting drift.
# Every command waits for the workloads as it would on a real cluster. Each step is
# printed before it runs. The manager, the webhook and the cluster stop on exit,
# Ctrl-C included.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-bin}"
work="$(mktemp -d "${TMPDIR:-/tmp}/kubeext-demo.XXXXXX")"
export KUBECONFIG="$work/kubeconfig"
export PATH="$PWD/$BIN:$PATH"
export XDG_CACHE_HOME="$work/cache"
pids=()

cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      kill -TERM "${pids[$i]}" 2>/dev/null || true
      wait "${pids[$i]}" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$'; printf ' %q' "$@"; printf '\n'; "$@"; }
# fails runs a command that must be refused, and fails the demo if it is not.
fails() {
  printf '$'; printf ' %q' "$@"; printf '\n'
  if "$@"; then echo "demo: that should have been refused" >&2; exit 1; fi
}
# shellcheck source=hack/lib.sh
source hack/lib.sh

# ready_replicas N: podinfo's Deployment has N ready replicas (it was waited for), or
# the demo fails.
ready_replicas() {
  local got
  got="$(kubectl -n podinfo get deployment podinfo -o 'jsonpath={.status.readyReplicas}')"
  if [[ "$got" != "$1" ]]; then
    echo "demo: podinfo has ${got:-0} ready replicas, want $1" >&2
    exit 1
  fi
  echo "podinfo: $got/$1 replicas Ready"
}

step "Starting a throwaway cluster: kube-apiserver + etcd, kube-controller-manager, kube-scheduler, one kwok node (CRDs installed, webhook registered)"
start_control_plane --ready
# kwok simulates the node's kubelet: pods on it become Running and Ready without
# pulling an image or starting a container.
run kubectl get nodes -o wide

step "Starting the admission webhook (bin/webhook), enforcing the Rego policies"
start_webhook
run kubectl ext version

step "The catalog: one extension type, podinfo 1.4.0 to 2.0.0, charts in a local directory"
"$BIN/democharts" "$work/charts"
sed "s#https://stefanprodan.github.io/podinfo#file://$work/charts#" examples/extensiontype-podinfo.yaml >"$work/type.yaml"
run kubectl apply -f "$work/type.yaml"
run kubectl ext type sync example.podinfo
run kubectl ext type list

step "Which versions this cluster may run, like az k8s-extension extension-types list-versions-by-cluster"
run kubectl ext type versions example.podinfo --all

step "Create an extension pinned at 1.4.0, with settings and a protected setting; it waits until its pods are Ready"
run kubectl ext create podinfo --extension-type example.podinfo --release-namespace podinfo \
  --auto-upgrade-minor-version false --version 1.4.0 --timeout 2m \
  --config replicaCount=2 message="hello from kubectl ext" --config-protected apiKey=demo-secret
run kubectl -n podinfo get deployment,pods -o wide
ready_replicas 2

step "Show it: the protected setting's key, never its value"
run kubectl ext show podinfo

step "List the extensions"
run kubectl ext list

step "A patch update of the settings: allowed; the other settings stay, and a third pod becomes Ready"
run kubectl ext update podinfo --config replicaCount=3 --timeout 2m
run kubectl -n podinfo get deployment podinfo
ready_replicas 3

step "A minor update, 1.4.0 to 1.5.0, within Kubernetes 1.37: refused by the plugin's own check ..."
fails kubectl ext update podinfo --version 1.5.0 --auto-upgrade-minor-version false

step "... and by the admission webhook, for anyone who writes the Extension directly"
fails kubectl patch ext podinfo --type merge -p '{"spec":{"version":"1.5.0"}}'

step "Back to auto-upgrade: what the extension manager would do, then doing it"
run kubectl ext update podinfo --auto-upgrade-minor-version true --timeout 2m
run kubectl ext upgrade --all --dry-run
run kubectl ext upgrade --all --timeout 2m
run kubectl ext list
run kubectl -n podinfo get deployment podinfo
ready_replicas 3

step "Delete it: release, protected settings and record"
run kubectl ext delete podinfo --yes --timeout 2m
run kubectl ext list
fails kubectl -n podinfo get deployment podinfo

# The manager runs out of the cluster, as AKS runs its own off the user's nodes: one
# manager (no leader election), waiting for workloads as it does in a cluster, and
# drift checked every 5 s instead of every 10 minutes.
step "The extension manager (bin/extension-manager), run outside the cluster from the demo's kubeconfig"
manager=("$BIN/extension-manager" --kubeconfig "$KUBECONFIG" --timeout 2m --leader-elect=false
  --metrics-bind-address=0 --health-probe-bind-address=0 --drift-interval 5s)
printf '$'; printf ' %q' "${manager[@]}"; printf ' &\n'
"${manager[@]}" >"$work/manager.log" 2>&1 &
pids+=($!)

step "Declare an extension with kubectl apply: the manager installs it"
cat >"$work/extension.yaml" <<'YAML'
apiVersion: kubeext.dev/v1alpha1
kind: Extension
metadata:
  name: podinfo
spec:
  extensionType: example.podinfo
  scope:
    cluster:
      releaseNamespace: podinfo
  autoUpgradeMinorVersion: true
  driftPolicy: Correct
  configurationSettings:
    message: declared with kubectl apply
YAML
cat "$work/extension.yaml"
run kubectl apply -f "$work/extension.yaml"
if ! run kubectl wait --for=condition=Ready ext/podinfo --timeout=60s; then
  echo "demo: the extension manager's log:" >&2
  tail -n 40 "$work/manager.log" >&2
  exit 1
fi
run kubectl ext list
run kubectl -n podinfo get deployment,pods
ready_replicas 1

step "Drift: delete a ConfigMap of the release by hand; the manager puts it back"
run kubectl -n podinfo get configmap podinfo
run kubectl -n podinfo delete configmap podinfo
wait_for 60 "the ConfigMap coming back" kubectl -n podinfo get configmap podinfo
run kubectl -n podinfo get configmap podinfo
wait_for 30 "a DriftCorrected event" bash -c 'kubectl ext show podinfo | grep -q DriftCorrected'
run kubectl ext show podinfo

step "Delete it with kubectl: the manager's finalizer uninstalls the release first"
run kubectl delete ext podinfo --timeout=60s
run kubectl ext list
fails kubectl -n podinfo get configmap podinfo

step "Done; stopping the extension manager, the webhook and the control plane"
