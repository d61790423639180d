#!/usr/bin/env bash
# Fails when go.mod or go.sum would change under `go mod tidy`: the product's module,
# the lint tools' module in hack/tools, and the OPA peer of make bench in hack/bench/opa.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
status=0
for mod in . hack/tools hack/bench/opa; do
  cd "$root/$mod"
  tmp="$(mktemp -d)"
  cp go.mod go.sum "$tmp/"
  go mod tidy
  if ! diff -q go.mod "$tmp/go.mod" >/dev/null || ! diff -q go.sum "$tmp/go.sum" >/dev/null; then
    diff -u "$tmp/go.mod" go.mod || true
    cp "$tmp/go.mod" "$tmp/go.sum" .
    echo "$mod/go.mod, go.sum are not tidy: run 'go mod tidy' in $mod and commit the result" >&2
    status=1
  fi
  rm -rf "$tmp"
done
exit "$status"
