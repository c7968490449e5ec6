# The one Go that armorwatch's scripts build Go tools with (the Collector, kustomize, kube-apiserver).
# Source it from bash, then:
#   use_pinned_go || exit 1   # puts the pinned Go first on PATH (fetching it once if needed), sets
#                             # GOTOOLCHAIN=local, unsets GOROOT; says why on stderr when it cannot
#   go=$(pinned_go)           # only the path of the pinned go binary (fetched once if needed)
#   go_decide                 # what pinned_go would do, as one line: use|fetch|missing PATH WHY
#
# Which Go: exactly ARMORWATCH_GO_VERSION (below), found by version, never by PATH order. Debian 12
# ships Go 1.19, the pinned kustomize needs 1.24 and the Collector builder 1.26; Go's own switching
# (GOTOOLCHAIN, from 1.21 on) cannot help the 1.19 that Debian installs. So when no Go of the
# pinned version is found, any Go that is (Debian's golang-go, Go 1.11 or later) downloads the
# official toolchain module golang.org/toolchain@v0.0.1-go<version>.linux-amd64 from the Go module
# proxy (`go mod download`, checked against the Go checksum database like any module), into
# ARMORWATCH_CACHE_DIR (default ~/.cache/armorwatch)/go, and this script applies the two fix-ups
# that GOTOOLCHAIN switching applies to that module after download (cmd/go/internal/toolchain):
# execute bits on its commands, and each _go.mod renamed back to go.mod. That is the same toolchain
# `GOTOOLCHAIN=go<version>` would run, obtainable from any Go.
#
# Where it looks, in this order (the first Go of the pinned version wins): every `go` on PATH,
# /usr/local/go/bin/go, /usr/lib/go/bin/go, /usr/lib/go-*/bin/go, the cached toolchain.
# ARMORWATCH_GO_SEARCH replaces the fixed places (the tests of this file use it).

# The pinned Go: the 1.26 release this project's Go tools are built and tested with.
ARMORWATCH_GO_VERSION=${ARMORWATCH_GO_VERSION:-1.26.8}

_go_log() { printf 'go: %s\n' "$*" >&2; }

_go_cache() { printf '%s/go' "${ARMORWATCH_CACHE_DIR:-$HOME/.cache/armorwatch}"; }

# The toolchain module's version for this machine, e.g. v0.0.1-go1.26.8.linux-amd64.
_go_module_version() {
  local arch
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
  esac
  printf 'v0.0.1-go%s.linux-%s' "$ARMORWATCH_GO_VERSION" "$arch"
}

# Where the downloaded toolchain's go binary lives.
_go_cached_bin() {
  printf '%s/mod/golang.org/toolchain@%s/bin/go' "$(_go_cache)" "$(_go_module_version)"
}

# The version a go binary reports (1.19.8, 1.26.8, 1.21rc2), or nothing if it does not run.
go_version_of() {
  local out
  out=$(GOTOOLCHAIN=local "$1" version 2>/dev/null) || return 0
  # "go version go1.26.8 linux/amd64" (Debian: "go version go1.19.8 linux/amd64")
  out=${out#go version go}
  printf '%s' "${out%% *}"
}

# 0 when version $1 >= version $2 (dotted numbers; a pre-release counts as its release).
go_version_ge() {
  local a b i x y
  IFS=. read -r -a a <<<"${1%%[a-z]*}"
  IFS=. read -r -a b <<<"${2%%[a-z]*}"
  for i in 0 1 2; do
    x=${a[i]:-0}; y=${b[i]:-0}
    if ((10#$x > 10#$y)); then return 0; fi
    if ((10#$x < 10#$y)); then return 1; fi
  done
  return 0
}

# Every go binary that could be used, once each (by real path), in search order.
go_candidates() {
  local dir seen=" " c real
  local -a list=()
  local IFS=:
  for dir in $PATH; do [ -n "$dir" ] && list+=("$dir/go"); done
  unset IFS
  if [ -n "${ARMORWATCH_GO_SEARCH+set}" ]; then
    read -r -a c <<<"$ARMORWATCH_GO_SEARCH"; list+=("${c[@]}")
  else
    list+=(/usr/local/go/bin/go /usr/lib/go/bin/go /usr/lib/go-*/bin/go)
  fi
  list+=("$(_go_cached_bin)")
  for c in "${list[@]}"; do
    [ -f "$c" ] && [ -x "$c" ] || continue
    real=$(readlink -f "$c")
    case "$seen" in *" $real "*) continue ;; esac
    seen="$seen$real "
    printf '%s\n' "$c"
  done
}

# One line: `use PATH WHY` (a Go of the pinned version exists), `fetch PATH WHY` (PATH is the Go
# that will download the pinned one), or `missing - WHY` (no Go at all).
go_decide() {
  local c v best="" best_v="" seen=""
  while IFS= read -r c; do
    v=$(go_version_of "$c")
    [ -n "$v" ] || continue
    seen="$seen${seen:+, }$c ($v)"
    if [ "$v" = "$ARMORWATCH_GO_VERSION" ]; then
      printf 'use %s go%s is the pinned version\n' "$c" "$v"; return 0
    fi
    if [ -z "$best" ] || ! go_version_ge "$best_v" "$v"; then best=$c; best_v=$v; fi
  done < <(go_candidates)
  if [ -n "$best" ]; then
    printf 'fetch %s no Go %s found (seen: %s); go%s downloads golang.org/toolchain@%s\n' \
      "$best" "$ARMORWATCH_GO_VERSION" "$seen" "$best_v" "$(_go_module_version)"
    return 0
  fi
  printf 'missing - no go binary on PATH or in the usual places; install Debian'"'"'s golang-go (any Go downloads the pinned one)\n'
}

# Downloads the pinned toolchain module with the go binary $1 and makes it runnable.
_go_fetch() {
  local boot=$1 mod dir info f
  mod="golang.org/toolchain@$(_go_module_version)"
  _go_log "downloading Go $ARMORWATCH_GO_VERSION ($mod, about 75 MB) with $boot into $(_go_cache)"
  mkdir -p "$(_go_cache)"
  # Outside any module, with only the flags this needs: GOFLAGS from the environment may hold
  # flags an old go does not know. -modcacherw leaves the files writable for the fix-ups below.
  info=$(cd "$(_go_cache)" && GOMODCACHE="$(_go_cache)/mod" GOFLAGS=-modcacherw GO111MODULE=on \
    GOWORK=off GOTOOLCHAIN=local "$boot" mod download -json "$mod") || {
    _go_log "could not download $mod with $boot:"; printf '%s\n' "$info" >&2; return 1; }
  dir=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -n "$dir" ] && [ -f "$dir/bin/go" ] || { _go_log "no bin/go in what $boot downloaded:"; printf '%s\n' "$info" >&2; return 1; }
  # What GOTOOLCHAIN does after its download: the zip carries no execute bits, and it stores each
  # go.mod inside the tree as _go.mod (a go.mod there would start another module).
  chmod -R a+x "$dir/pkg/tool"
  find "$dir/lib" -name 'go_*_*_exec' -exec chmod a+x {} + 2>/dev/null || true
  chmod a+x "$dir"/bin/*
  find "$dir" -name _go.mod -print | while IFS= read -r f; do cp "$f" "${f%/_go.mod}/go.mod"; done
  [ "$(go_version_of "$dir/bin/go")" = "$ARMORWATCH_GO_VERSION" ] || {
    _go_log "$dir/bin/go does not report go$ARMORWATCH_GO_VERSION"; return 1; }
}

# Prints the path of the pinned go binary, downloading it once when only another Go exists.
pinned_go() {
  local action path why
  read -r action path why < <(go_decide)
  case "$action" in
    use) printf '%s\n' "$path" ;;
    fetch)
      _go_fetch "$path" || return 1
      printf '%s\n' "$(_go_cached_bin)" ;;
    *) _go_log "$why"; return 1 ;;
  esac
}

# Makes the pinned Go the `go` of this shell and its children.
use_pinned_go() {
  local go
  go=$(pinned_go) || return 1
  unset GOROOT
  export GOTOOLCHAIN=local
  export PATH="$(dirname "$go"):$PATH"
}
