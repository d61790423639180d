#!/usr/bin/env bash
# make manager-load: the extension manager's memory and CPU at rest and while it
# applies N declared extensions and then upgrades all of them (default N=100), on a
# throwaway local control plane with the webhook, as `make demo` runs it. Prints one
# table. Linux only (reads /proc).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-bin}"
N="${N:-100}"
work="$(mktemp -d "${TMPDIR:-/tmp}/kubeext-load.XXXXXX")"
export KUBECONFIG="$work/kubeconfig" PATH="$PWD/$BIN:$PATH" XDG_CACHE_HOME="$work/cache"
pids=()
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=hack/lib.sh
source hack/lib.sh

start_control_plane >"$work/cluster.log" 2>&1
start_webhook
"$BIN/democharts" "$work/charts"
# One type, N cluster-scoped instances of it.
sed -e "s#https://stefanprodan.github.io/podinfo#file://$work/charts#" -e "s#allowMultipleInstances: false#allowMultipleInstances: true#" \
  examples/extensiontype-podinfo.yaml | kubectl apply -f - >/dev/null
kubectl ext type sync example.podinfo >/dev/null

"$BIN/extension-manager" --kubeconfig "$KUBECONFIG" --wait=false --leader-elect=false --metrics-bind-address 0 \
  --health-probe-bind-address 0 --drift-interval 10m --upgrade-interval 0 --max-concurrent-reconciles 2 >"$work/manager.log" 2>&1 &
mgr=$!
pids+=($mgr)
wait_for 30 "the extension manager starting" grep -q "Starting workers" "$work/manager.log"

# cpu_ms: user+system CPU time of the manager so far, in milliseconds.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' "/proc/$mgr/stat"; }
rss_mib() { awk '/^VmRSS/ { printf "%.1f\n", $2 / 1024 }' "/proc/$mgr/status"; }
hwm_mib() { awk '/^VmHWM/ { printf "%.1f\n", $2 / 1024 }' "/proc/$mgr/status"; }
at_version() { # at_version V: every extension Succeeded at V
  [[ "$(kubectl get ext -o jsonpath='{range .items[*]}{.status.provisioningState}/{.status.currentVersion}{"\n"}{end}' | grep -c "^Succeeded/$1\$")" == "$N" ]]
}
declare_all() { # declare_all VERSION
  for i in $(seq 1 "$N"); do
    cat <<Y
---
apiVersion: kubeext.dev/v1alpha1
kind: Extension
metadata: {name: load-$i}
spec:
  extensionType: example.podinfo
  scope: {cluster: {releaseNamespace: load-$i}}
  autoUpgradeMinorVersion: false
  version: "$1"
Y
  done
}

idle0=$(cpu_ms); sleep 20; idle1=$(cpu_ms); rest_empty=$(rss_mib)
start=$(date +%s.%N); c0=$(cpu_ms)
declare_all 1.4.0 | kubectl apply -f - >/dev/null
wait_for 900 "$N installs" at_version 1.4.0
install_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }'); install_cpu=$(( $(cpu_ms) - c0 ))
sleep 5
r0=$(cpu_ms); sleep 30; r1=$(cpu_ms); rest_rss=$(rss_mib)
start=$(date +%s.%N); c0=$(cpu_ms)
declare_all 1.4.1 | kubectl apply -f - >/dev/null
wait_for 900 "$N upgrades" at_version 1.4.1
upgrade_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }'); upgrade_cpu=$(( $(cpu_ms) - c0 ))

printf '%-52s %s\n' "figure (extension-manager, $N extensions)" "value"
printf '%-52s %s\n' "RSS at rest, no extensions" "${rest_empty} MiB"
printf '%-52s %s\n' "CPU at rest, no extensions" "$(awk -v d=$((idle1 - idle0)) 'BEGIN { printf "%.1f", d / 20 }') ms/s"
printf '%-52s %s\n' "install of $N declared extensions: wall" "${install_s} s"
printf '%-52s %s\n' "install of $N declared extensions: CPU" "$(awk -v d=$install_cpu 'BEGIN { printf "%.1f", d / 1000 }') s"
printf '%-52s %s\n' "RSS at rest, $N extensions" "${rest_rss} MiB"
printf '%-52s %s\n' "CPU at rest, $N extensions (drift checks due)" "$(awk -v d=$((r1 - r0)) 'BEGIN { printf "%.1f", d / 30 }') ms/s"
printf '%-52s %s\n' "upgrade of $N extensions 1.4.0 -> 1.4.1: wall" "${upgrade_s} s"
printf '%-52s %s\n' "upgrade of $N extensions 1.4.0 -> 1.4.1: CPU" "$(awk -v d=$upgrade_cpu 'BEGIN { printf "%.1f", d / 1000 }') s"
printf '%-52s %s\n' "peak RSS (VmHWM)" "$(hwm_mib) MiB"
