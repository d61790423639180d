#!/usr/bin/env bash
# Builds the real control-plane binaries that tests and the demo run against:
# kube-apiserver (from k8s.io/kubernetes) and etcd (from go.etcd.io/etcd/server/v3),
# both from the Go module proxy, into a cache directory outside the repository.
#
# With --ready it also builds what makes pods become Ready: kube-controller-manager and
# kube-scheduler (same module, same version stamping) and kwok (sigs.k8s.io/kwok), which
# plays the nodes and their kubelets. They are not built by default: the bare API server
# that most tests use needs none of them, and they cost minutes on a cold cache.
#
# k8s.io/kubernetes is not meant to be required as a module: its go.mod replaces
# every k8s.io staging module with a local directory. A throwaway build module
# therefore requires it and replaces each staging module with its published
# v0.x version. k8s.io/kubernetes has no checksum-database entry, hence GONOSUMDB.
#
# Prints the asset directory on stdout (last line); progress goes to stderr.
set -euo pipefail

ready=false
case "${1:-}" in
  "") ;;
  --ready) ready=true ;;
  *) echo "usage: $0 [--ready]" >&2; exit 2 ;;
esac

# v1.37.1: the proxy serves no source archive of k8s.io/kubernetes v1.37.2.
KUBE_VERSION="${KUBE_VERSION:-v1.37.1}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
# kwok v0.8.0 requires the k8s.io v0.36.1 modules, all served by the proxy; it builds
# on its own module's requirements, apart from the k8s.io/kubernetes build module.
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
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

# kube_module PKG: the throwaway module that builds k8s.io/kubernetes commands, its
# dependencies resolved for PKG, every command of kube_cmds and every command resolved
# before. .tidied lists those commands, so a cache prepared for kube-apiserver alone is
# resolved again (once, for all of --ready's commands) only when --ready first asks
# for another command.
kube_module() {
  local pkg="$1" mod="$WORK/kubernetes-$KUBE_VERSION"
  mkdir -p "$mod"
  if [[ -f "$mod/.ready" && ! -f "$mod/.tidied" ]]; then
    # Prepared by an older version of this script, for kube-apiserver alone.
    echo "k8s.io/kubernetes/cmd/kube-apiserver" >"$mod/.tidied"
  fi
  if grep -qxF "$pkg" "$mod/.tidied" 2>/dev/null; then
    return
  fi
  export GONOSUMDB="k8s.io/kubernetes${GONOSUMDB:+,$GONOSUMDB}"
  export GOFLAGS="-mod=mod"
  if [[ ! -f "$mod/go.mod" || ! -f "$mod/.ready" ]]; then
    log "preparing build module for k8s.io/kubernetes $KUBE_VERSION in $mod"
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
    : >"$mod/.tidied"
  fi
  local pkgs
  pkgs="$( (cat "$mod/.tidied"; echo "$pkg"; printf '%s\n' "${kube_cmds[@]}") | sort -u)"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    while read -r p; do printf '\t_ "%s"\n' "$p"; done <<<"$pkgs"
    printf ')\n'
  } >"$mod/tools.go"
  log "resolving dependencies for $(sed 's#.*/##' <<<"$pkgs" | paste -sd' ') (the first run downloads a few hundred modules)"
  (cd "$mod" && go mod tidy -e >&2) || die "go mod tidy failed in $mod"
  echo "$pkgs" >"$mod/.tidied"
  touch "$mod/.ready"
}

build_kube() {
  local bin="$1" pkg="$2"
  if [[ -x "$ASSETS/$bin" ]]; then
    log "$bin $KUBE_VERSION already built ($ASSETS/$bin)"
    return
  fi
  local mod="$WORK/kubernetes-$KUBE_VERSION"
  kube_module "$pkg"
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

# build_kwok: sigs.k8s.io/kwok's kwok command from its own throwaway module. kwok's
# go.mod replaces nothing, so requiring it at a release resolves as its release did.
# The binary is named after its version and kwok links to it, so another KWOK_VERSION
# builds anew instead of passing for the one in the cache.
build_kwok() {
  if [[ -x "$ASSETS/kwok-$KWOK_VERSION" && -f "$ASSETS/kwok-$KWOK_VERSION-stages.yaml" ]]; then
    log "kwok $KWOK_VERSION already built ($ASSETS/kwok-$KWOK_VERSION)"
    ln -sfn "kwok-$KWOK_VERSION" "$ASSETS/kwok"
    ln -sfn "kwok-$KWOK_VERSION-stages.yaml" "$ASSETS/kwok-stages.yaml"
    return
  fi
  local mod="$WORK/kwok-$KWOK_VERSION"
  mkdir -p "$mod"
  if [[ ! -f "$mod/.ready" ]]; then
    log "preparing build module for sigs.k8s.io/kwok $KWOK_VERSION"
    cat >"$mod/go.mod" <<GOMOD
module kubeext.local/kwok-build

go 1.26

require sigs.k8s.io/kwok $KWOK_VERSION
GOMOD
    cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
GO
    (cd "$mod" && GOFLAGS=-mod=mod go mod tidy -e >&2) || die "go mod tidy failed in $mod"
    touch "$mod/.ready"
  fi
  # kwok itself has no built-in behaviour: its Stages say what happens to nodes and
  # pods. These are the release's own "fast" set, as kwokctl uses it: a node becomes
  # Ready and keeps its lease, a pod becomes Running and Ready at once, a Job's pod
  # Succeeds, and a deleted pod goes away.
  if [[ ! -f "$ASSETS/kwok-$KWOK_VERSION-stages.yaml" ]]; then
    local src
    src="$(cd "$mod" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)" || die "cannot find the sigs.k8s.io/kwok source"
    local f
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      [[ -f "$src/kustomize/stage/$f" ]] || die "kwok $KWOK_VERSION has no stage $f"
      echo "---"
      cat "$src/kustomize/stage/$f"
    done >"$ASSETS/kwok-$KWOK_VERSION-stages.yaml.tmp"
    mv "$ASSETS/kwok-$KWOK_VERSION-stages.yaml.tmp" "$ASSETS/kwok-$KWOK_VERSION-stages.yaml"
  fi
  ln -sfn "kwok-$KWOK_VERSION-stages.yaml" "$ASSETS/kwok-stages.yaml"
  if [[ -x "$ASSETS/kwok-$KWOK_VERSION" ]]; then
    log "kwok $KWOK_VERSION already built ($ASSETS/kwok-$KWOK_VERSION)"
    ln -sfn "kwok-$KWOK_VERSION" "$ASSETS/kwok"
    return
  fi
  log "building kwok $KWOK_VERSION"
  (cd "$mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
    -o "$ASSETS/kwok-$KWOK_VERSION.tmp" sigs.k8s.io/kwok/cmd/kwok >&2) || die "building kwok failed; see the go output above"
  mv "$ASSETS/kwok-$KWOK_VERSION.tmp" "$ASSETS/kwok-$KWOK_VERSION"
  ln -sfn "kwok-$KWOK_VERSION" "$ASSETS/kwok"
  log "built $ASSETS/kwok-$KWOK_VERSION"
}

kube_cmds=(k8s.io/kubernetes/cmd/kube-apiserver)
if $ready; then
  kube_cmds+=(k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler)
fi

build_etcd
build_kube kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
if $ready; then
  build_kube kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
  build_kube kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
  build_kwok
fi

"$ASSETS/kube-apiserver" --version >&2 || die "kube-apiserver does not run"
if $ready; then
  for b in kube-controller-manager kube-scheduler; do
    "$ASSETS/$b" --version >&2 || die "$b does not run"
  done
  "$ASSETS/kwok" --version >&2 || die "kwok does not run"
fi
echo "$ASSETS"
