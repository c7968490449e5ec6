#!/usr/bin/env bash
# Builds the eBPF object, the native monitor helper and the TypeScript, into build/ and dist/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/tools/node/node_modules/node/bin:$PATH"
if [ -f native/Makefile ]; then
  make -s -C native
fi
node node_modules/typescript/bin/tsc -p tsconfig.build.json
