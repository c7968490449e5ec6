#!/usr/bin/env bash
# Runs every test with the pinned Node.js (node's built-in test runner, TypeScript run directly).
# Extra arguments are test files or globs, e.g. scripts/run-tests.sh 'test/policy/**/*.test.ts'
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/tools/node/node_modules/node/bin:$PATH"
if [ "$#" -eq 0 ]; then set -- 'test/**/*.test.ts'; fi
node node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
exec node --test --test-concurrency=1 --test-reporter=spec "$@"
