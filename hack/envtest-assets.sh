#!/usr/bin/env bash
# Builds the real control-plane binaries that tests and the demo run against:
# kube-apiserver (from k8s.io/kubernetes) and etcd (from go.etcd.io/etcd/server/v3),
# both from the Go module proxy, into a cache directory outside the repository.
#
# k8s.io/kubernetes is not meant to be required as a module: its go.mod replaces
# every k8s.io staging module with a local directory. A throwaway build module
# therefore requires it and replaces each staging module with its published
# v0.x version. k8s.io/kubernetes has no checksum-database entry, hence GONOSUMDB.
#
# Prints the asset directory on stdout (last line); progress goes to stderr.
set -euo pipefail

# v1.37.1: the proxy serves no source archive of k8s.io/kubernetes v1.37.2.
KUBE_VERSION="${KUBE_VERSION:-v1.37.1}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
CACHE_ROOT="${KUBEEXT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-ext}"
ASSETS="${CACHE_ROOT}/envtest/kube-${KUBE_VERSION}-etcd-${ETCD_VERSION}"
WORK="${CACHE_ROOT}/build"

log() { printf 'envtest-assets: %s\n' "$*" >&2; }
die() { printf 'envtest-assets: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go is not on PATH; install Go 1.26 or newer"

mkdir -p "$ASSETS" "$WORK"

staging_minor="v0.${KUBE_VERSION#v1.}"
kube_major=1
kube_minor="$(echo "$KUBE_VERSION" | cut -d. -f2)"

build_kube() {
  local bin="$1" pkg="$2"
  if [[ -x "$ASSETS/$bin" ]]; then
    log "$bin $KUBE_VERSION already built ($ASSETS/$bin)"
    return
  fi
  local mod="$WORK/kubernetes-$KUBE_VERSION"
  mkdir -p "$mod"
  if [[ ! -f "$mod/.ready" ]]; then
    log "preparing build module for k8s.io/kubernetes $KUBE_VERSION in $mod"
    export GONOSUMDB="k8s.io/kubernetes${GONOSUMDB:+,$GONOSUMDB}"
    export GOFLAGS="-mod=mod"
    local gomod dl
    log "downloading k8s.io/kubernetes $KUBE_VERSION source (about 60 MB)"
    if ! dl="$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION")"; then
      die "cannot download k8s.io/kubernetes@$KUBE_VERSION: $(sed -n 's/^\s*"Error": "\(.*\)",$/\1/p' <<<"$dl")"
    fi
    gomod="$(sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p' <<<"$dl")"
    [[ -f "$gomod" ]] || die "no go.mod found for k8s.io/kubernetes@$KUBE_VERSION"
    {
      echo "module kubeext.local/envtest-build"
      echo
      echo "go $(sed -n 's/^go //p' "$gomod")"
      echo
      echo "require k8s.io/kubernetes $KUBE_VERSION"
      echo
      echo "replace ("
      sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod" | while read -r m; do
        echo "	$m => $m ${staging_minor}"
      done
      echo ")"
    } >"$mod/go.mod"
    cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
GO
    log "resolving dependencies (first run downloads a few hundred modules)"
    (cd "$mod" && go mod tidy -e >&2) || die "go mod tidy failed in $mod"
    touch "$mod/.ready"
  fi
  local pfx="k8s.io/component-base/version"
  local ld="-s -w -X ${pfx}.gitVersion=${KUBE_VERSION} -X ${pfx}.gitMajor=${kube_major} -X ${pfx}.gitMinor=${kube_minor}"
  ld+=" -X ${pfx}.gitTreeState=clean -X ${pfx}.buildDate=1970-01-01T00:00:00Z"
  log "building $bin $KUBE_VERSION (several minutes on a small machine)"
  (cd "$mod" && GONOSUMDB="k8s.io/kubernetes" GOFLAGS=-mod=mod CGO_ENABLED=0 \
    go build -trimpath -ldflags "$ld" -o "$ASSETS/$bin.tmp" "$pkg" >&2) ||
    die "building $bin failed; see the go output above"
  mv "$ASSETS/$bin.tmp" "$ASSETS/$bin"
  log "built $ASSETS/$bin"
}

build_etcd() {
  if [[ -x "$ASSETS/etcd" ]]; then
    log "etcd $ETCD_VERSION already built ($ASSETS/etcd)"
    return
  fi
  local mod="$WORK/etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  if [[ ! -f "$mod/.ready" ]]; then
    log "preparing build module for go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    cat >"$mod/go.mod" <<GOMOD
module kubeext.local/etcd-build

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
    cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
GO
    (cd "$mod" && GOFLAGS=-mod=mod go mod tidy -e >&2) || die "go mod tidy failed in $mod"
    touch "$mod/.ready"
  fi
  log "building etcd $ETCD_VERSION"
  (cd "$mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
    -o "$ASSETS/etcd.tmp" go.etcd.io/etcd/server/v3 >&2) || die "building etcd failed; see the go output above"
  mv "$ASSETS/etcd.tmp" "$ASSETS/etcd"
  log "built $ASSETS/etcd"
}

build_etcd
build_kube kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver

"$ASSETS/kube-apiserver" --version >&2 || die "kube-apiserver does not run"
echo "$ASSETS"
