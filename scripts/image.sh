#!/usr/bin/env bash
# Builds the agent's image from the Dockerfile without a registry: the Debian 12 base is made here
# with debootstrap (cached by its recipe), imported into Docker under a local tag and handed to the
# Dockerfile as --build-arg DEBIAN_12_SLIM. Uses the Docker daemon that answers, or starts one by
# hand (Debian's docker.io: dockerd without bridge or iptables, its layer cache in the cache
# directory) and stops it again at the end. Prints the image ID on stdout; the rest goes to stderr.
# Usage: bash scripts/image.sh [--tag REF] [--save FILE]
#   --tag REF    the image's tag (default: the DaemonSet's, ghcr.io/armorwatch/armorwatch:<version>)
#   --save FILE  also write the image as a `docker save` archive (for `ctr images import`)
#   env: ARMORWATCH_CACHE_DIR (default ~/.cache/armorwatch)
# Needs (as root): debootstrap and docker.io (scripts/setup.sh --with-test-deps installs both).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/package.json" | head -n 1)
tag="ghcr.io/armorwatch/armorwatch:$version"
save=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --save) save=$2; shift 2 ;;
    *) echo "usage: bash scripts/image.sh [--tag REF] [--save FILE]" >&2; exit 2 ;;
  esac
done
log() { printf 'image: %s\n' "$*" >&2; }
cache="${ARMORWATCH_CACHE_DIR:-$HOME/.cache/armorwatch}"
mkdir -p "$cache"
# One build at a time on a machine: they share the base cache and the daemon's data directory.
exec 9>"$cache/image.lock"
flock 9

# ---- the base: a minimal Debian 12 with the package sources debian:12-slim has.
suite=bookworm
mirror=http://deb.debian.org/debian
sources="Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"
key=$(printf 'debootstrap --variant=minbase %s %s\n%s' "$suite" "$mirror" "$sources" | sha256sum | cut -c1-16)
base_tar="$cache/debian-base/$key/rootfs.tar"
if [ ! -f "$base_tar" ]; then
  log "debootstrapping a minimal Debian 12 ($suite) into $base_tar (once; a few minutes)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  t0=$(date +%s)
  debootstrap --variant=minbase "$suite" "$tmp/rootfs" "$mirror" >&2
  rm -f "$tmp/rootfs/etc/apt/sources.list"
  printf '%s' "$sources" > "$tmp/rootfs/etc/apt/sources.list.d/debian.sources"
  rm -rf "$tmp/rootfs/var/lib/apt/lists/"* "$tmp/rootfs/var/cache/apt/archives/"*.deb
  mkdir -p "$(dirname "$base_tar")"
  tar --numeric-owner -C "$tmp/rootfs" -cf "$base_tar.tmp.$$" .
  mv "$base_tar.tmp.$$" "$base_tar"
  rm -rf "$tmp"; trap - EXIT
  log "debootstrap took $(( $(date +%s) - t0 )) s"
fi

# ---- a Docker daemon: the one that answers, else one started here and stopped on exit.
started=""
stop_dockerd() {
  [ -n "$started" ] || return 0
  kill "$started" 2>/dev/null || true
  # dockerd stops the containerd it started; wait for both to let go of the data directory.
  for _ in $(seq 1 100); do kill -0 "$started" 2>/dev/null || break; sleep 0.1; done
}
if ! docker version >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { log "dockerd not found: apt-get install docker.io (or bash scripts/setup.sh --with-test-deps)"; exit 1; }
  # One daemon per cache directory: its run directory is named after the cache, so a run with a
  # cache of its own (a cold CI run beside the shared cache) never shares a socket or pidfile.
  run=/run/armorwatch-docker-$(printf '%s' "$cache" | sha256sum | cut -c1-8)
  mkdir -p "$run"
  export DOCKER_HOST="unix://$run/docker.sock"
  log "starting dockerd on $DOCKER_HOST (data: $cache/docker, log: $run/dockerd.log)"
  dockerd --host "$DOCKER_HOST" --data-root "$cache/docker" --exec-root "$run/exec" \
    --pidfile "$run/dockerd.pid" --bridge=none --iptables=false >"$run/dockerd.log" 2>&1 &
  started=$!
  trap stop_dockerd EXIT
  for _ in $(seq 1 300); do
    docker version >/dev/null 2>&1 && break
    kill -0 "$started" 2>/dev/null || { tail -n 20 "$run/dockerd.log" >&2; log "dockerd exited"; exit 1; }
    sleep 0.1
  done
  docker version >/dev/null 2>&1 || { tail -n 20 "$run/dockerd.log" >&2; log "dockerd did not answer in 30 s"; exit 1; }
fi

base="armorwatch-base/debian:12-minbase-$key"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  log "importing $base_tar as $base"
  docker import "$base_tar" "$base" >/dev/null
fi
# The build stage fetches Node.js and npm packages over HTTPS. Where this machine trusts extra
# certificate authorities (a TLS-inspecting proxy), the build stage's base trusts them too; the
# runtime stage starts from the plain base, so they never reach the image.
build_base=$base
extra=(/usr/local/share/ca-certificates/*.crt)
if [ -e "${extra[0]}" ]; then
  ctx=$(mktemp -d)
  cp "${extra[@]}" "$ctx/"
  ca_key=$(cat "$ctx"/*.crt | sha256sum | cut -c1-12)
  build_base="armorwatch-base/debian-build:12-minbase-$key-ca$ca_key"
  if ! docker image inspect "$build_base" >/dev/null 2>&1; then
    printf 'FROM %s\nCOPY *.crt /usr/local/share/ca-certificates/\nENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n' "$base" \
      | DOCKER_BUILDKIT=0 docker build -q --pull=false -t "$build_base" -f - "$ctx" >/dev/null
  fi
  rm -rf "$ctx"
fi

log "building $tag (docker build --build-arg DEBIAN_12_SLIM=$base --build-arg BUILD_BASE=$build_base)"
t0=$(date +%s)
# --network host: the daemon runs without a bridge. The legacy builder: Debian's docker.io has no buildx.
DOCKER_BUILDKIT=0 docker build --pull=false --network host \
  --build-arg "DEBIAN_12_SLIM=$base" --build-arg "BUILD_BASE=$build_base" -t "$tag" "$root" >&2
log "docker build took $(( $(date +%s) - t0 )) s"
# The layer cache lives as long as the daemon's data: keep this build's, drop superseded ones. The
# build stage gets a tag of its own (from the cache: seconds), or pruning would take it too.
DOCKER_BUILDKIT=0 docker build -q --pull=false --network host --target build \
  --build-arg "DEBIAN_12_SLIM=$base" --build-arg "BUILD_BASE=$build_base" -t armorwatch-base/build-stage:latest "$root" >/dev/null
docker image prune -f >/dev/null
log "$tag: $(docker image inspect -f '{{.Size}}' "$tag") bytes"
if [ -n "$save" ]; then
  docker save -o "$save" "$tag"
fi
docker image inspect -f '{{.Id}}' "$tag"
