#!/usr/bin/env bash
# Builds Helm (the `helm` command) from its Go module for the chart's tests, cached by version like
# the Collector (otel-collector/build.sh), so a machine builds it once.
# Prints the binary's path on stdout; everything else goes to stderr.
# Usage: bash deploy/helm/build.sh   (env: ARMORWATCH_CACHE_DIR, default ~/.cache/armorwatch)
set -euo pipefail
helm_version=v3.22.0 # builds with the pinned Go (scripts/lib/go.sh)
log() { printf 'helm-build: %s\n' "$*" >&2; }

# shellcheck source=../../scripts/lib/go.sh
. "$(dirname "$0")/../../scripts/lib/go.sh"

cache="${ARMORWATCH_CACHE_DIR:-$HOME/.cache/armorwatch}/helm/$helm_version"
bin="$cache/helm"
if [ -x "$bin" ]; then
  echo "$bin"; exit 0
fi
[ "${1:-}" != --cached ] || exit 1 # --cached: only the cached binary's path, exit 1 when not built yet
use_pinned_go || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "building helm $helm_version (a few minutes on 2 cores)"
# The version is stamped the way Helm's Makefile does it, so `helm version` tells what was built.
GOBIN="$work" GOFLAGS="-buildvcs=false" go install \
  -ldflags "-X helm.sh/helm/v3/internal/version.version=$helm_version" \
  "helm.sh/helm/v3/cmd/helm@$helm_version" >&2
mkdir -p "$cache"
# Copy then rename so a concurrent reader never sees a half-written binary.
cp "$work/helm" "$bin.tmp.$$"
mv "$bin.tmp.$$" "$bin"
"$bin" version --short >&2
echo "$bin"
