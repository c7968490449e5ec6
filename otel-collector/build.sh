#!/usr/bin/env bash
# Builds the test/benchmark OpenTelemetry Collector from builder-config.yaml with the official
# builder, caching the binary by the manifest's sha256 so CI on the same machine builds it once.
# Prints the binary's path on stdout; everything else goes to stderr.
# Usage: bash otel-collector/build.sh [--cached]   (env: ARMORWATCH_CACHE_DIR, default ~/.cache/armorwatch)
#   --cached  only print the cached binary's path; exit 1 when it is not built yet
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
manifest="$here/builder-config.yaml"
builder_version=v0.165.0 # same release as the modules in the manifest
log() { printf 'otelcol-build: %s\n' "$*" >&2; }

# The builder version is part of the key: a new builder can generate different code.
key=$( { cat "$manifest"; echo "$builder_version"; } | sha256sum | cut -c1-16)
cache="${ARMORWATCH_CACHE_DIR:-$HOME/.cache/armorwatch}/otelcol/$key"
bin="$cache/otelcol-armorwatch"
if [ -x "$bin" ]; then
  echo "$bin"; exit 0
fi
[ "${1:-}" != --cached ] || exit 1

# The pinned Go, chosen by version (scripts/lib/go.sh); run scripts/setup.sh --with-test-deps first
# on a machine without any Go.
. "$here/../scripts/lib/go.sh"
use_pinned_go || exit 1

gobin=$(go env GOPATH)/bin
if ! "$gobin/builder" version 2>/dev/null | grep -q "${builder_version#v}"; then
  log "installing builder $builder_version"
  go install "go.opentelemetry.io/collector/cmd/builder@$builder_version" >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$manifest" "$work/builder-config.yaml"
log "building into $work (takes a few minutes on 2 cores)"
# -e: `go mod tidy` also walks the tests of every dependency; a few test-only contrib modules are
# not served by the module proxy here, and the binary never needs them (see the manifest).
(cd "$work" && GOFLAGS="-e -buildvcs=false" "$gobin/builder" --config builder-config.yaml) >&2
mkdir -p "$cache"
# Copy then rename so a concurrent reader never sees a half-written binary.
cp "$work/_build/otelcol-armorwatch" "$bin.tmp.$$"
mv "$bin.tmp.$$" "$bin"
"$bin" --version >&2
echo "$bin"
