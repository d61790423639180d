#!/usr/bin/env bash
# Builds the release archives of kubectl-ext for every krew platform, their checksums,
# and the krew manifest rendered from hack/krew.yaml.tmpl. `make dist` runs it.
#
#   VERSION            release version: semver with a leading v (required; make passes it)
#   COMMIT             git commit stamped into the binary (default: git rev-parse --short HEAD)
#   DIST_DIR           where the archives and checksums.txt go (default: dist)
#   KREW_OUT           the rendered krew manifest (default: krew.yaml)
#   PLATFORMS          os/arch pairs to build, space separated (default: all six); the
#                      manifest is rendered only when all six are built
#   RENDER_ONLY        true: build nothing, render KREW_OUT from DIST_DIR/checksums.txt as
#                      it is (archives built one platform at a time, their checksums joined)
#   SOURCE_DATE_EPOCH  mtime of every archive entry (default: the HEAD commit's time)
#   GO                 the go command (default: go)
#
# Archives are reproducible: the same sources, VERSION, COMMIT and SOURCE_DATE_EPOCH give
# the same bytes (entries in byte order, fixed mtime and modes, owner and group 0, gzip -n).
# Every archive is a .tar.gz, windows too: krew reads either, and one format keeps one path.
# Relative DIST_DIR and KREW_OUT are taken from the directory the script is run from.
set -euo pipefail
export LC_ALL=C # byte order for globs and sort: archive entries never depend on the locale

log() { printf 'dist: %s\n' "$*"; }
die() { printf 'dist: error: %s\n' "$*" >&2; exit 1; }

ALL_PLATFORMS="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"
MODULE=github.com/kubeext/kubectl-ext
# semver.org's regular expression, with krew's mandatory leading v.
SEMVER_RE='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-((0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?(\+([0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*))?$'

VERSION="${VERSION:-}"
[[ -n "$VERSION" ]] || die "VERSION is not set: run 'make dist', or VERSION=v1.2.3 $0"
[[ "$VERSION" == v* ]] || die "VERSION=$VERSION must start with v (krew wants v1.2.3)"
[[ "$VERSION" =~ $SEMVER_RE ]] || die "VERSION=$VERSION is not semver (vMAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], see semver.org)"

abs() { if [[ "$1" == /* ]]; then printf '%s' "$1"; else printf '%s/%s' "$PWD" "$1"; fi; }
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST_DIR="$(abs "${DIST_DIR:-$REPO/dist}")"
KREW_OUT="$(abs "${KREW_OUT:-$REPO/krew.yaml}")"
PLATFORMS="${PLATFORMS:-$ALL_PLATFORMS}"
GO="${GO:-go}"
cd "$REPO"
COMMIT="${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
[[ "$SOURCE_DATE_EPOCH" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH is not a number of seconds"

[[ -n "${PLATFORMS// /}" ]] || die "PLATFORMS is empty"
for p in $PLATFORMS; do
  [[ " $ALL_PLATFORMS " == *" $p "* ]] || die "PLATFORMS: $p is not one of: $ALL_PLATFORMS"
done
all=true
for p in $ALL_PLATFORMS; do
  [[ " $PLATFORMS " == *" $p "* ]] || all=false
done

# Reproducible archives need GNU tar (--sort, --mtime, --owner); macOS has it as gtar.
TAR=tar
if ! tar --version 2>/dev/null | grep -q 'GNU tar'; then
  command -v gtar >/dev/null || die "GNU tar is needed (on macOS: brew install gnu-tar)"
  TAR=gtar
fi
if command -v sha256sum >/dev/null; then
  sha256() { sha256sum "$@"; }
elif command -v shasum >/dev/null; then
  sha256() { shasum -a 256 "$@"; }
else
  die "sha256sum or shasum is needed"
fi
[[ -f hack/kubectl_complete-ext && -f LICENSE && -f README.md ]] ||
  die "LICENSE, README.md or hack/kubectl_complete-ext is missing"

mkdir -p "$DIST_DIR"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# render writes KREW_OUT from hack/krew.yaml.tmpl and DIST_DIR/checksums.txt.
render() {
  # The template names each platform's checksum __SHA256_<OS>_<ARCH>__ and the version __VERSION__.
  subst="s|__VERSION__|$VERSION|g"
  while read -r sum name; do
    [[ "$name" == "kubectl-ext_${VERSION}_"*.tar.gz ]] ||
      die "$DIST_DIR/checksums.txt lists $name, which is not an archive of $VERSION"
    rest="${name#"kubectl-ext_${VERSION}_"}"
    rest="${rest%.tar.gz}"
    token="__SHA256_$(tr '[:lower:]' '[:upper:]' <<<"$rest")__"
    subst+=";s|$token|$sum|g"
  done <"$DIST_DIR/checksums.txt"
  sed "$subst" hack/krew.yaml.tmpl >"$tmp/krew.yaml"
  if left="$(grep -o '__[A-Z0-9_]*__' "$tmp/krew.yaml")"; then
    die "hack/krew.yaml.tmpl has placeholders nothing filled in: $(tr '\n' ' ' <<<"$left")"
  fi
  mkdir -p "$(dirname "$KREW_OUT")"
  mv "$tmp/krew.yaml" "$KREW_OUT"
  log "wrote $KREW_OUT"
}

if [[ "${RENDER_ONLY:-}" == true ]]; then
  [[ -f "$DIST_DIR/checksums.txt" ]] || die "RENDER_ONLY=true needs $DIST_DIR/checksums.txt"
  log "version $VERSION: rendering $KREW_OUT from $DIST_DIR/checksums.txt, building nothing"
  render
  exit 0
fi

ldflags="-s -w -X $MODULE/internal/version.version=$VERSION -X $MODULE/internal/version.gitCommit=$COMMIT"
log "version $VERSION, commit $COMMIT, mtime $SOURCE_DATE_EPOCH, into $DIST_DIR"

archives=()
for p in $PLATFORMS; do
  os="${p%/*}" arch="${p#*/}"
  stage="$tmp/${os}_${arch}"
  mkdir -p "$stage"
  bin=kubectl-ext
  [[ "$os" == windows ]] && bin=kubectl-ext.exe

  log "building $os/$arch"
  CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" "$GO" build -trimpath -ldflags "$ldflags" \
    -o "$stage/$bin" ./cmd/kubectl-ext
  cp LICENSE README.md "$stage/"
  chmod 0755 "$stage/$bin"
  chmod 0644 "$stage/LICENSE" "$stage/README.md"
  # kubectl finds the completion helper on PATH by that exact name; a POSIX sh script is
  # of no use on windows, so the windows archives go without it.
  if [[ "$os" != windows ]]; then
    cp hack/kubectl_complete-ext "$stage/"
    chmod 0755 "$stage/kubectl_complete-ext"
  fi

  archive="kubectl-ext_${VERSION}_${os}_${arch}.tar.gz"
  entries=()
  for f in "$stage"/*; do entries+=("${f##*/}"); done
  "$TAR" -C "$stage" --format=ustar --sort=name --mtime="@$SOURCE_DATE_EPOCH" \
    --owner=0 --group=0 --numeric-owner -cf - -- "${entries[@]}" |
    gzip -n >"$DIST_DIR/$archive.tmp"
  mv "$DIST_DIR/$archive.tmp" "$DIST_DIR/$archive"
  archives+=("$archive")
  log "wrote $DIST_DIR/$archive (${entries[*]})"
done

(cd "$DIST_DIR" && sha256 "${archives[@]}") | sort -k2 >"$DIST_DIR/checksums.txt"
log "wrote $DIST_DIR/checksums.txt"

if [[ "$all" != true ]]; then
  log "not rendering $KREW_OUT: it needs all six platforms (PLATFORMS=$PLATFORMS)"
  exit 0
fi

render
