#!/usr/bin/env bash
# Builds kube-apiserver (and, when asked, other commands of k8s.io/kubernetes such as
# kube-controller-manager) from the pinned k8s.io/kubernetes Go module for the tests' real control
# plane, caching the binaries by version (like otel-collector/build.sh), so a machine builds them
# once. Prints the cache directory holding the binaries on stdout; everything else goes to stderr.
# Usage: bash k8s/build.sh [COMMAND...]   (default: kube-apiserver, all the tests need)
#   env: ARMORWATCH_CACHE_DIR (default ~/.cache/armorwatch); ARMORWATCH_GO, a go binary to use
#   instead of the one found
set -euo pipefail
version=v1.36.3   # needs Go >= 1.26 (v1.35.x needs 1.25, v1.34.x 1.24)
go_min=1.26
commands=("${@:-kube-apiserver}")
log() { printf 'kube-build: %s\n' "$*" >&2; }

# The one place that chooses the Go toolchain: $ARMORWATCH_GO, else the first `go` on PATH or in
# /usr/local/go/bin that is new enough (Debian 12's golang-go is 1.19).
pick_go() {
  local c v
  for c in ${ARMORWATCH_GO:-} "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    v=$("$c" env GOVERSION 2>/dev/null | sed 's/^go//') || continue
    if [ "$(printf '%s\n%s\n' "$go_min" "$v" | sort -V | head -1)" = "$go_min" ]; then
      echo "$c"; return 0
    fi
    log "skipping $c: Go $v is older than $go_min"
  done
  log "no Go >= $go_min found (set ARMORWATCH_GO to one)"; return 1
}

cache="${ARMORWATCH_CACHE_DIR:-$HOME/.cache/armorwatch}/kube/$version"
have=1
for c in "${commands[@]}"; do [ -x "$cache/$c" ] || have=0; done
if [ "$have" = 1 ]; then
  log "cached: $cache"
  echo "$cache"; exit 0
fi

go=$(pick_go)
log "building ${commands[*]} $version with $("$go" env GOVERSION) ($go); kube-apiserver takes about 8 min cold on 2 idle cores"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
"$go" mod init armorwatch.local/kube-build >/dev/null 2>&1
"$go" mod edit -require "k8s.io/kubernetes@$version"

# k8s.io/kubernetes replaces its staging modules (k8s.io/api, k8s.io/client-go, ...) with folders of
# its own tree; outside that tree each one is the published module at v0.<minor>.<patch>.
gomod=$("$go" mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')
[ -f "$gomod" ] || { log "could not download k8s.io/kubernetes@$version's go.mod"; exit 1; }
staging_version="v0.${version#v1.}"
n=0
for m in $(sed -n 's#^\s*\(k8s\.io/[^ ]*\) => \./staging/.*#\1#p' "$gomod"); do
  "$go" mod edit -replace "$m=$m@$staging_version"
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { log "found no staging replaces in $gomod"; exit 1; }
log "$n staging modules replaced with $staging_version"

pkgs=()
for c in "${commands[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c@$version"); done
"$go" get "${pkgs[@]}" >&2

minor=${version#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean"
done
mkdir -p "$cache"
for c in "${commands[@]}"; do
  log "go build $c"
  CGO_ENABLED=0 "$go" build -trimpath -ldflags "$ldflags" -o "$work/$c" "k8s.io/kubernetes/cmd/$c" >&2
  # Copy then rename so a concurrent reader never sees a half-written binary.
  cp "$work/$c" "$cache/$c.tmp.$$"
  mv "$cache/$c.tmp.$$" "$cache/$c"
done
"$cache/${commands[0]}" --version >&2
echo "$cache"
