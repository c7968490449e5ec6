#!/usr/bin/env bash
# Times `bash .ci/run` as a fresh machine would run it: a clean clone of HEAD, and every cache the
# scripts use cold and apart from this machine's shared ones — HOME (so ~/.cache/armorwatch: the
# Collector, Helm and kube-apiserver builds, the Node.js tarballs, the debootstrapped base and the
# image test's Docker data), GOPATH, GOMODCACHE, GOCACHE and npm's cache all in a new folder. Debian
# packages and a Go that is already installed are used as they are (say so when quoting the figure).
# Writes WORK/run.log (the run's output and `/usr/bin/time -v`), WORK/load.log (the load average
# every minute) and WORK/phases.log (when each set-up line appeared). Needs root, like .ci/run.
# Usage: bash .ci/cold.sh [WORK]   (default: a new folder under /tmp; removed only by hand)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/armorwatch-cold-ci.XXXXXX)}
mkdir -p "$work"
[ ! -e "$work/clone" ] || { echo "cold.sh: $work/clone exists; give an empty folder" >&2; exit 2; }
git clone -q "$root" "$work/clone"
git -C "$work/clone" checkout -q "$(git -C "$root" rev-parse HEAD)"
mkdir -p "$work/home"

( while sleep 60; do echo "$(date -u +%T) $(cat /proc/loadavg)"; done ) >"$work/load.log" &
loadpid=$!
trap 'kill "$loadpid" 2>/dev/null || true' EXIT
echo "cold.sh: $(date -u +%FT%TZ) start at $(git -C "$work/clone" rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg); log: $work/run.log" >&2
rc=0
(
  cd "$work/clone"
  export HOME="$work/home" GOPATH="$work/home/go" GOMODCACHE="$work/home/go/pkg/mod" \
    GOCACHE="$work/home/go-build" npm_config_cache="$work/home/npm"
  unset ARMORWATCH_CACHE_DIR GOFLAGS GOENV XDG_CONFIG_HOME XDG_CACHE_HOME
  /usr/bin/time -v bash .ci/run 2>&1 | while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in setup:*|image:*|kube-build:*|otelcol-build:*|helm-build:*) printf '%s %s\n' "$(date -u +%T)" "$line" >>"$work/phases.log" ;; esac
  done
  exit "${PIPESTATUS[0]}"
) >"$work/run.log" 2>&1 || rc=$?
echo "cold.sh: $(date -u +%FT%TZ) end, exit $rc, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
grep -E 'Elapsed \(wall|User time|System time|Maximum resident' "$work/run.log" >&2 || true
exit "$rc"
