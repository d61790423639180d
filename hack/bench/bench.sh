#!/usr/bin/env bash
# make bench: every speed goal of issue 13 measured in one run on a throwaway local
# control plane, each beside its baseline measured in the same run, in one table
# (stdout, and docs/benchmarks.md between its markers). Linux only (reads /proc).
#
#   1-3  the webhook against a no-op controller-runtime webhook (hack/bench/noop):
#        p50/p99 at 1 worker, rps at 8 workers, RSS with 1,000 extensions
#   4    BenchmarkEvaluate and BenchmarkEvaluateScale (internal/policy)
#   5    an OPA server (hack/bench/opa) judging the same input with the same policies
#   6-9  the plugin against kubectl: startup, list, show, upgrade --all --dry-run
#   10   kubectl ext create against helm install of the same chart
#
# Knobs: BENCH_COUNT (Go benchmark runs, 5), LOAD_DURATION (3s per target and round),
# LOAD_ROUNDS (3), RUNS (command timings, 7), DOC (docs/benchmarks.md; empty: stdout only).
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN="${BIN:-bin}"
GO="${GO:-go}"
BENCH_COUNT="${BENCH_COUNT:-5}"
LOAD_DURATION="${LOAD_DURATION:-3s}"
LOAD_ROUNDS="${LOAD_ROUNDS:-3}"
RUNS="${RUNS:-7}"
DOC="${DOC-docs/benchmarks.md}"
N_SMALL=25
N_LARGE=1000

work="$(mktemp -d "${TMPDIR:-/tmp}/kubeext-bench.XXXXXX")"
# Go keeps its build cache: it lives under XDG_CACHE_HOME unless GOCACHE says where.
GOCACHE="$($GO env GOCACHE)"
export GOCACHE
# Every other cache and config of kubectl, helm and the plugin goes to the scratch
# directory.
export KUBECONFIG="$work/kubeconfig" PATH="$PWD/$BIN:$PATH" XDG_CACHE_HOME="$work/cache" \
  XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" KUBECACHEDIR="$work/kubecache"
pids=()
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source=hack/lib.sh
source hack/lib.sh

started=$SECONDS
say() { printf 'bench [%3ds]: %s\n' $((SECONDS - started)) "$*" >&2; }
rows="$work/rows.tsv"
: >"$rows"
# row KEY TARGET FIGURE UNIT BASELINE-NAME BASELINE GOAL [NOTE]: one line of the table
# (hack/bench/kit/table.go reads them); KEY orders the table as the issue's goals are.
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "${8:-}" >>"$rows"; }

say "building the load generator, the no-op webhook, opa and helm"
$GO build -o "$work/kit" ./hack/bench/kit
$GO build -o "$work/load" ./hack/bench/load
$GO build -o "$work/noop" ./hack/bench/noop
(cd hack/bench/opa && $GO build -o "$work/opa" .)
# helm at the version the product embeds, built from the module proxy outside this
# module (its CLI needs modules the product's go.sum does not list).
GOBIN="$work" $GO install "helm.sh/helm/v3/cmd/helm@$($GO list -m -f '{{.Version}}' helm.sh/helm/v3)"

# ---- 4: the engine alone, before anything else runs on the machine ----
say "go test ./internal/policy -bench BenchmarkEvaluate (count $BENCH_COUNT)"
gobench="$work/gobench.txt"
if $GO test ./internal/policy/ -run '^$' -bench '^BenchmarkEvaluate(Scale)?$' -benchmem -count "$BENCH_COUNT" >"$gobench" 2>&1; then
  # gomedian NAME FIELD: the median of the value before FIELD ("ns/op", "allocs/op")
  # over the lines of benchmark NAME (the -GOMAXPROCS suffix ignored).
  gomedian() {
    awk -v name="$1" -v field="$2" '{ n = $1; sub(/-[0-9]+$/, "", n) }
      n == name { for (i = 2; i <= NF; i++) if ($i == field) print $(i - 1) }' "$gobench" |
      sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "not run"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
  }
  ns=$(gomedian BenchmarkEvaluate ns/op)
  [[ $ns == "not run" ]] || ns=$(awk -v v="$ns" 'BEGIN { print v / 1000 }')
  row 41 "BenchmarkEvaluate: time per review" "$ns" "µs" "" "" "<=100"
  row 42 "BenchmarkEvaluate: allocations per review" "$(gomedian BenchmarkEvaluate allocs/op)" "" "" "" "<=300"
  s10=$(gomedian BenchmarkEvaluateScale/extensions=10 ns/op)
  s1000=$(gomedian BenchmarkEvaluateScale/extensions=1000 ns/op)
  if [[ $s10 != "not run" && $s1000 != "not run" ]]; then
    row 43 "BenchmarkEvaluateScale: 1,000 extensions" "$(awk -v v="$s1000" 'BEGIN { print v / 1000 }')" "µs" \
      "10 extensions" "$(awk -v v="$s10" 'BEGIN { print v / 1000 }')" "<=1.2x"
  else
    row 43 "BenchmarkEvaluateScale: 1,000 extensions" "not run" "µs" "10 extensions" "" "<=1.2x"
  fi
else
  say "the policy benchmarks failed:"; tail -n 20 "$gobench" >&2
  row 41 "BenchmarkEvaluate: time per review" "did not run" "µs" "" "" "<=100"
  row 42 "BenchmarkEvaluate: allocations per review" "did not run" "" "" "" "<=300"
  row 43 "BenchmarkEvaluateScale: 1,000 extensions" "did not run" "µs" "10 extensions" "" "<=1.2x"
fi

# ---- the cluster: control plane, our webhook, the no-op webhook, OPA ----
say "starting the control plane and the webhook"
start_control_plane >"$work/cluster.log" 2>&1
start_webhook
webhook_pid=${pids[${#pids[@]} - 1]}
# The path the API server calls (internal/webhook.ValidatePath), from the registration;
# envtest writes it after a slash of its own ("https://HOST:PORT//validate-...").
url=$(kubectl get validatingwebhookconfigurations -o jsonpath='{.items[0].webhooks[0].clientConfig.url}')
path="${url#https://*/}"
path="/${path#/}"
free_port() { echo $((20000 + RANDOM % 20000)); }
noop_port=$(free_port)
"$work/noop" --host "$WEBHOOK_HOST" --port "$noop_port" --cert-dir "$WEBHOOK_CERT_DIR" --path "$path" 2>"$work/noop.log" &
pids+=($!)
noop_pid=$!
opa_port=$(free_port)
mapfile -t rego < <(ls policies/*.rego | grep -v '_test\.rego$')
"$work/opa" run --server --skip-version-check --log-level error --addr "$WEBHOOK_HOST:$opa_port" \
  --tls-cert-file "$WEBHOOK_CERT_DIR/tls.crt" --tls-private-key-file "$WEBHOOK_CERT_DIR/tls.key" "${rego[@]}" >"$work/opa.log" 2>&1 &
pids+=($!)
wait_for 30 "the no-op webhook starting" curl -sk -o /dev/null "https://$WEBHOOK_HOST:$noop_port$path"
wait_for 30 "the OPA server starting" curl -fsk "https://$WEBHOOK_HOST:$opa_port/health"

say "the catalog: podinfo 1.4.0 ... 2.0.0 and 1.4.2, multiple instances allowed"
"$BIN/democharts" "$work/charts"
"$work/kit" charts "$work/charts"
sed -e "s#https://stefanprodan.github.io/podinfo#file://$work/charts#" -e "s#allowMultipleInstances: false#allowMultipleInstances: true#" \
  examples/extensiontype-podinfo.yaml | kubectl apply -f - >/dev/null
kubectl ext type sync example.podinfo >/dev/null

# ---- 6-8 at 25 extensions ----
say "$N_SMALL extensions"
"$work/kit" populate -n $((N_SMALL - 1)) -pinned bench-pinned
# pair KEY LABEL GOAL BASELINE-NAME A... --vs-- B...: target A against baseline B, interleaved.
pair() {
  local key=$1 label=$2 unit=ms goal=$3 blabel=$4; shift 4
  local out
  out=$("$work/kit" time -n "$RUNS" -- "$@")
  row "$key" "$label" "$(cut -f1 <<<"$out")" "$unit" "$blabel" "$(cut -f2 <<<"$out")" "$goal"
}
pair 61 "startup: kubectl ext version" "<=1.3x" "kubectl version --client" kubectl ext version --vs-- kubectl version --client
pair 62 "startup: kubectl-ext version (the binary alone)" "" "kubectl version --client" kubectl-ext version --vs-- kubectl version --client
pair 71 "kubectl ext list, $N_SMALL extensions" "<=1.2x" "kubectl get ext" kubectl ext list --vs-- kubectl get ext
pair 81 "kubectl ext show X, $N_SMALL extensions" "<=1.5x" "kubectl get ext X -o yaml" kubectl ext show bench-0001 --vs-- kubectl get ext bench-0001 -o yaml

# ---- 7-9 at 1,000 extensions ----
say "$N_LARGE extensions"
"$work/kit" populate -n $((N_LARGE - N_SMALL)) -start "$N_SMALL"
[[ $(kubectl get ext -o name | wc -l) == "$N_LARGE" ]] || { echo "bench: want $N_LARGE extensions" >&2; exit 1; }
pair 72 "kubectl ext list, $N_LARGE extensions" "<=1.2x" "kubectl get ext" kubectl ext list --vs-- kubectl get ext
pair 82 "kubectl ext show X, $N_LARGE extensions" "<=1.5x" "kubectl get ext X -o yaml" kubectl ext show bench-0001 --vs-- kubectl get ext bench-0001 -o yaml
say "kubectl ext upgrade --all --dry-run, $((N_LARGE - 1)) auto-upgrading extensions"
out=$("$work/kit" time -n 3 -warmup=false -timeout 60s -- kubectl ext upgrade --all --dry-run)
row 91 "kubectl ext upgrade --all --dry-run, $N_LARGE extensions" "$out" "ms" "" "" "<=2000"

# ---- 1, 2, 5: the same review posted to the three servers ----
say "the review: bench-pinned 1.4.1 -> 1.4.2 among $N_LARGE extensions"
"$work/kit" review -name bench-pinned -to 1.4.2 -config "$work/policy.yaml" -out "$work"
curl -fsSk -X PUT -H 'Content-Type: application/json' --data-binary "@$work/opa-data.json" \
  "https://$WEBHOOK_HOST:$opa_port/v1/data/inventory" >/dev/null
# ---- 3: the webhook's memory with 1,000 extensions in its informers, at rest ----
rss_mib() { awk '/^VmRSS/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }
row 31 "webhook RSS, $N_LARGE extensions, before the load" "$(rss_mib "$webhook_pid")" MiB "no-op webhook" "$(rss_mib "$noop_pid")" "<=64"
targets=(
  -target "noop=https://$WEBHOOK_HOST:$noop_port$path=$work/review.json"
  -target "ours=https://$WEBHOOK_HOST:$WEBHOOK_PORT$path=$work/review.json"
  -target "opa=https://$WEBHOOK_HOST:$opa_port/v1/data/kubeext/decision=$work/opa-input.json"
)
# The OPA server and the webhook judge alike: both allow the review (the load
# generator checks each target before its load) and both deny its major-version twin.
mkdir "$work/major"
"$work/kit" review -name bench-pinned -to 2.0.0 -want denied -config "$work/policy.yaml" -out "$work/major" 2>/dev/null
"$work/load" -expect-allowed=false -workers 1 -warmup 0s -duration 100ms -rounds 1 \
  -target "ours=https://$WEBHOOK_HOST:$WEBHOOK_PORT$path=$work/major/review.json" \
  -target "opa=https://$WEBHOOK_HOST:$opa_port/v1/data/kubeext/decision=$work/major/opa-input.json" >/dev/null
# load_figure FILE TARGET COLUMN: 2 rps, 3 p50 ms, 4 p99 ms
load_figure() { awk -v t="$2" -v c="$3" '$1 == t { print $c }' "$1"; }
for w in 1 8; do
  say "load, $w worker(s): no-op, ours, OPA; $LOAD_ROUNDS rounds of $LOAD_DURATION each"
  "$work/load" -workers "$w" -duration "$LOAD_DURATION" -rounds "$LOAD_ROUNDS" "${targets[@]}" >"$work/load-$w.tsv"
done
f() { load_figure "$work/load-$1.tsv" "$2" "$3"; }
row 11 "webhook p50, 1 worker" "$(f 1 ours 3)" ms "no-op webhook" "$(f 1 noop 3)" "<=1.5x"
row 12 "webhook p99, 1 worker" "$(f 1 ours 4)" ms "no-op webhook" "$(f 1 noop 4)" "<=2x"
row 21 "webhook throughput, 8 workers" "$(f 8 ours 2)" rps "no-op webhook" "$(f 8 noop 2)" ">=0.5x"
row 22 "webhook p99, 8 workers" "$(f 8 ours 4)" ms "no-op webhook" "$(f 8 noop 4)" ""
row 51 "webhook p50, 1 worker, against OPA" "$(f 1 ours 3)" ms "opa run --server" "$(f 1 opa 3)" "" "peer, no goal"
row 52 "webhook throughput, 8 workers, against OPA" "$(f 8 ours 2)" rps "opa run --server" "$(f 8 opa 2)" "" "peer, no goal"

# ---- 3, again after the load: what the reviews left ----
sleep 2
row 32 "webhook RSS, $N_LARGE extensions, after the load" "$(rss_mib "$webhook_pid")" MiB "no-op webhook" "$(rss_mib "$noop_pid")" "<=64"

# ---- 10: install, against helm install of the same chart ----
say "install: kubectl ext create against helm install, $RUNS each"
out=$("$work/kit" time -n "$RUNS" -- \
  kubectl ext create 'inst-{i}' --extension-type example.podinfo --release-namespace 'inst-{i}' \
  --auto-upgrade-minor-version false --version 1.4.1 --no-wait \
  --vs-- "$work/helm" install 'helm-{i}' "$work/charts/podinfo-1.4.1.tgz" --namespace 'helm-{i}' --create-namespace)
for i in $(seq 0 "$RUNS"); do
  st=$(kubectl get ext "inst-$i" -o jsonpath='{.status.provisioningState}/{.status.currentVersion}')
  [[ $st == Succeeded/1.4.1 ]] || { echo "bench: inst-$i is $st, not Succeeded/1.4.1" >&2; exit 1; }
done
row 101 "kubectl ext create --no-wait to Succeeded" "$(cut -f1 <<<"$out")" ms "helm install" "$(cut -f2 <<<"$out")" "<=1.2x"

# ---- the table ----
sort -n -s -k1,1 "$rows" | cut -f2- >"$work/sorted.tsv"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
kubectl_version=$(kubectl version --client -o json | awk -F'"' '/"gitVersion"/ { print $4; exit }')
machine="Run of $(date -u '+%Y-%m-%d %H:%M UTC') at commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- || echo ' (with uncommitted changes)'): ${cpu:-unknown CPU}, $(nproc) cores, $($GO env GOVERSION) $($GO env GOOS)/$($GO env GOARCH), kubectl ${kubectl_version:-unknown}; hack/bench/bench.sh took $((SECONDS - started)) s."
"$work/kit" table ${DOC:+-doc "$DOC"} -machine "$machine" <"$work/sorted.tsv"
say "done in $((SECONDS - started)) s"
