# Shared by hack/demo.sh and hack/manager-load.sh. Source it after setting BIN, work
# (a scratch directory), KUBECONFIG and the pids array the caller's trap stops.

# wait_for SECONDS DESCRIPTION COMMAND...: run COMMAND every 0.25 s until it succeeds;
# after SECONDS, say what did not happen and exit 1.
wait_for() {
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 $((secs * 4))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  echo "${0##*/}: $what did not happen within ${secs}s" >&2
  exit 1
}

# start_control_plane [LOCALCLUSTER FLAGS...]: a throwaway kube-apiserver and etcd
# (bin/localcluster: CRDs installed, webhook registered), its output on stdout; with
# --ready also the controllers, the scheduler and kwok's nodes, so pods become Ready.
start_control_plane() {
  "$BIN/localcluster" --kubeconfig "$KUBECONFIG" --webhook-env "$work/webhook.env" "$@" &
  pids+=($!)
  wait_for 90 "the control plane starting" test -f "$work/webhook.env" -a -f "$KUBECONFIG"
  # shellcheck disable=SC1091
  source "$work/webhook.env"
}

# start_webhook: bin/webhook serving the registration start_control_plane made, with
# an empty policy configuration; returns once it is ready.
start_webhook() {
  printf '{}\n' >"$work/policy.yaml"
  local health="127.0.0.1:$((20000 + RANDOM % 20000))"
  "$BIN/webhook" --kubeconfig "$KUBECONFIG" --host "$WEBHOOK_HOST" --port "$WEBHOOK_PORT" \
    --cert-dir "$WEBHOOK_CERT_DIR" --config "$work/policy.yaml" --metrics-bind-address 0 \
    --health-probe-bind-address "$health" --zap-log-level error &
  pids+=($!)
  wait_for 60 "the webhook becoming ready" curl -fsS "http://$health/readyz"
}
