#!/usr/bin/env bash
# Fetches the Prometheus Operator's CRDs (PodMonitor, PrometheusRule, ...) for the tests that check
# deploy/overlays/prometheus-operator against the real API server. They come from the operator's Go
# module, pinned below: the module proxy serves it and the Go checksum database vouches for it, and
# its zip carries the CRDs as the project publishes them (example/prometheus-operator-crd/). Go's
# module cache keeps it, so a machine downloads it once.
# Prints the folder holding the CRD files on stdout; everything else goes to stderr.
# Usage: bash k8s/prometheus-operator-crds.sh
set -euo pipefail
module=github.com/prometheus-operator/prometheus-operator
version=v0.85.0
log() { printf 'prometheus-operator-crds: %s\n' "$*" >&2; }

# shellcheck source=../scripts/lib/go.sh
. "$(dirname "$0")/../scripts/lib/go.sh"
go=$(pinned_go)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Outside any module (a go.mod or go.work above the caller's folder must not change what is fetched).
info=$(cd "$work" && GOFLAGS= GOWORK=off GO111MODULE=on GOTOOLCHAIN=local "$go" mod download -json "$module@$version") || {
  log "could not download $module@$version:"; printf '%s\n' "$info" >&2; exit 1
}
dir=$(printf '%s\n' "$info" | sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p')/example/prometheus-operator-crd
[ -f "$dir/monitoring.coreos.com_podmonitors.yaml" ] || { log "no CRDs in $dir"; exit 1; }
echo "$dir"
