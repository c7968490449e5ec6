#!/usr/bin/env bash
# Builds kube-apiserver (and, when asked, other commands of k8s.io/kubernetes such as
# kube-controller-manager) from the pinned k8s.io/kubernetes Go module for the tests' real control
# plane, caching the binaries by version (like otel-collector/build.sh), so a machine builds them
# once. Prints the cache directory holding the binaries on stdout; everything else goes to stderr.
# Usage: bash k8s/build.sh [--cached] [COMMAND...]   (default: kube-apiserver, all the tests need)
#   env: ARMORWATCH_CACHE_DIR (default ~/.cache/armorwatch)
set -euo pipefail
version=v1.36.3   # needs Go >= 1.26 (v1.35.x needs 1.25, v1.34.x 1.24)
cached_only=0
if [ "${1:-}" = --cached ]; then cached_only=1; shift; fi
commands=("${@:-kube-apiserver}")
log() { printf 'kube-build: %s\n' "$*" >&2; }

# The pinned Go, chosen by version (scripts/lib/go.sh), like the Collector's and Helm's builds.
# shellcheck source=../scripts/lib/go.sh
. "$(dirname "$0")/../scripts/lib/go.sh"

cache="${ARMORWATCH_CACHE_DIR:-$HOME/.cache/armorwatch}/kube/$version"
have=1
for c in "${commands[@]}"; do [ -x "$cache/$c" ] || have=0; done
if [ "$have" = 1 ]; then
  log "cached: $cache"
  echo "$cache"; exit 0
fi
[ "$cached_only" = 0 ] || exit 1 # --cached: only the cached path, exit 1 when not built yet

go=$(pinned_go)
log "building ${commands[*]} $version with $("$go" env GOVERSION) ($go); kube-apiserver takes about 8 min cold on 2 idle cores"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
"$go" mod init armorwatch.local/kube-build >/dev/null 2>&1
"$go" mod edit -require "k8s.io/kubernetes@$version"

# k8s.io/kubernetes replaces its staging modules (k8s.io/api, k8s.io/client-go, ...) with folders of
# its own tree; outside that tree each one is the published module at v0.<minor>.<patch>.
info=$("$go" mod download -json "k8s.io/kubernetes@$version") || {
  log "could not download k8s.io/kubernetes@$version:"; printf '%s\n' "$info" >&2; exit 1
}
gomod=$(printf '%s\n' "$info" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')
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
