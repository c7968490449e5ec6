#!/usr/bin/env bash
# Installs what armorwatch needs on a Debian 12 machine (as root), then builds it. Starts from a
# minimal Debian 12 (no node, no npm, no curl, no Go). Idempotent: each step checks before it
# installs, and says what it installs; a step already done prints nothing.
# Usage: bash scripts/setup.sh [--with-test-deps] [--no-build]
#   --with-test-deps  also what the tests need: containerd, runc, busybox, opensnoop, the pinned Go
#                     (scripts/lib/go.sh), kustomize where kubectl is missing, the test Collector,
#                     debootstrap and docker.io (the image test, scripts/image.sh), kube-apiserver
#                     and the Prometheus Operator's CRDs (k8s/).
#   --no-build        install only; do not run scripts/build.sh (the Dockerfile's dependency layer)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
with_test=0
build=1
for arg in "$@"; do
  case "$arg" in
    --with-test-deps) with_test=1 ;;
    --no-build) build=0 ;;
    *) echo "usage: bash scripts/setup.sh [--with-test-deps] [--no-build]" >&2; exit 2 ;;
  esac
done

log() { printf 'setup: %s\n' "$*" >&2; }
# Runs a command with its progress chatter kept back: shown only if it fails. Stdout passes.
quietly() {
  local out rc=0
  out=$(mktemp)
  "$@" 2>"$out" || rc=$?
  [ "$rc" = 0 ] || { cat "$out" >&2; log "failed ($rc): $*"; }
  rm -f "$out"
  return "$rc"
}
# shellcheck source=lib/node.sh
. scripts/lib/node.sh
# shellcheck source=lib/go.sh
. scripts/lib/go.sh

# Debian packages: the eBPF toolchain for the build; the peers and container runtime for tests.
pkgs=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make pkg-config util-linux ca-certificates)
# Node.js and npm come from the npm registry as tarballs (scripts/lib/node.sh): that needs a
# downloader, and curl is the one to install where neither curl nor wget exists.
[ -n "$(node_downloader)" ] || pkgs+=(curl)
if [ "$with_test" = 1 ]; then
  pkgs+=(libbpf-tools containerd runc busybox-static iproute2 openssl etcd-server debootstrap docker.io)
  # nmap: the port-scan tests and the scan benchmark run it as an attacker would (connect scans).
  pkgs+=(nmap)
  # iptables: tests hold handshakes in flight by dropping SYNs inside network namespaces they make.
  pkgs+=(iptables)
  # promtool (Debian package prometheus) checks deploy/prometheus/alert-rules.yaml in the tests. Only
  # the binary is used (no recommended packages); the server is never started.
  command -v promtool >/dev/null 2>&1 || pkgs+=(prometheus)
  # Any Go can download the pinned one (scripts/lib/go.sh); Debian's Go only where there is none.
  read -r go_action _ < <(go_decide)
  [ "$go_action" != missing ] || pkgs+=(golang-go)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root, or install them)"; exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  quietly apt-get update -qq
  DEBIAN_FRONTEND=noninteractive quietly apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js and npm, pinned in scripts/lib/node.sh, into tools/node. Everything below runs on them.
read -r node_action _ node_why < <(node_decide)
if [ "$node_action" != ok ]; then
  log "installing Node.js $ARMORWATCH_NODE_VERSION and npm $ARMORWATCH_NPM_VERSION into tools/node ($node_why)"
  install_pinned_node
fi
export PATH="$(node_bin_dir):$PATH"

# npm packages, exactly as locked.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --no-update-notifier --loglevel=error >&2
fi

if [ "$build" = 1 ]; then
  log "building (scripts/build.sh)"
  bash scripts/build.sh
fi

if [ "$with_test" = 1 ]; then
  use_pinned_go
  log "Go: $(command -v go) ($(go env GOVERSION))"
  # deploy/ is rendered with `kubectl kustomize`. kubectl is not a Debian package (it comes from the
  # Kubernetes apt repository); where it is missing, the tests use kustomize built from its Go module.
  if ! command -v kubectl >/dev/null 2>&1; then
    kustomize_version=v5.8.1 # newer releases need Go >= 1.27
    gobin="${ARMORWATCH_CACHE_DIR:-$HOME/.cache/armorwatch}/bin"
    if ! "$gobin/kustomize" version 2>/dev/null | grep -qx "$kustomize_version"; then
      log "kubectl not found: installing kustomize $kustomize_version into $gobin"
      GOBIN="$gobin" quietly go install "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version"
    fi
  fi
  # Go tools built from their pinned modules and cached (each build.sh caches by version):
  #   the OpenTelemetry Collector the export tests and benchmarks send to, Helm for the chart's
  #   tests, and kube-apiserver for the tests' real control plane (test/helpers/kube-apiserver.ts).
  # The builds are independent, so they run side by side: one's module downloads and one-threaded
  # link overlap another's compiling. Each one's output is shown only if it fails.
  go_tools=(
    "OpenTelemetry Collector|otel-collector/build.sh|several minutes on 2 cores"
    "Helm|deploy/helm/build.sh|a few minutes on 2 cores"
    "kube-apiserver|k8s/build.sh|about 8 minutes on 2 cores"
  )
  tool_dir=$(mktemp -d)
  tool_pids=()
  for i in "${!go_tools[@]}"; do
    IFS='|' read -r name script took <<<"${go_tools[$i]}"
    bash "$script" --cached >/dev/null 2>&1 || log "building $name from its Go module (once; $took)"
    bash "$script" >"$tool_dir/$i.out" 2>"$tool_dir/$i.err" &
    tool_pids+=("$!")
  done
  tools_failed=0
  for i in "${!go_tools[@]}"; do
    IFS='|' read -r name script _ <<<"${go_tools[$i]}"
    if wait "${tool_pids[$i]}"; then
      log "$name: $(cat "$tool_dir/$i.out")"
    else
      cat "$tool_dir/$i.err" >&2; log "failed: bash $script"; tools_failed=1
    fi
  done
  rm -rf "$tool_dir"
  [ "$tools_failed" = 0 ] || exit 1
  # The Prometheus Operator's CRDs (its pinned Go module, in Go's module cache): the API server
  # checks deploy/overlays/prometheus-operator's PodMonitor and PrometheusRule against them.
  log "Prometheus Operator CRDs: $(quietly bash k8s/prometheus-operator-crds.sh)"
fi
log "done. Run the agent: bin/armorwatch run --policies examples/policies"
