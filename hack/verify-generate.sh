#!/usr/bin/env bash
# Regenerates deepcopy code and CRDs into a scratch copy and fails when the committed
# files differ, so a changed API type cannot land without `make generate`.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/crd"
cp internal/api/v1alpha1/zz_generated.deepcopy.go "$tmp/deepcopy.go"
go tool controller-gen object:headerFile=hack/boilerplate.go.txt paths=./internal/api/... \
  crd:crdVersions=v1 output:crd:artifacts:config="$tmp/crd"
stale=0
if ! diff -u "$tmp/deepcopy.go" internal/api/v1alpha1/zz_generated.deepcopy.go; then stale=1; fi
cp "$tmp/deepcopy.go" internal/api/v1alpha1/zz_generated.deepcopy.go # leave the tree as it was
if ! diff -ru -x kustomization.yaml "$tmp/crd" manifests/crd; then stale=1; fi
if [[ $stale -ne 0 ]]; then
  echo "generated files are stale: run 'make generate' and commit the result" >&2
  exit 1
fi
echo "generated files are up to date"
