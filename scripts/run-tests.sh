#!/usr/bin/env bash
# Runs every test with the pinned Node.js (node's built-in test runner, TypeScript run directly).
# Extra arguments are test files or globs, e.g. scripts/run-tests.sh 'test/policy/**/*.test.ts'
#
# No test can hang the suite. The rules every test follows:
# - Time: every test and every hook ends within TEST_TIMEOUT_MS below (--test-timeout); past it,
#   the runner fails it by name ("test timed out after ...") and goes on. A test that needs longer
#   says so in its own options with the reason beside it, e.g.
#     test('200 containers ...', { timeout: 10 * 60_000 }, async (t) => { ... })  // hook: before(fn, { timeout })
#   A test with subtests (t.test) is timed as a whole; describe() blocks are not.
# - Cleanup: whatever a test starts (processes, containers, servers, folders) it stops with
#   defer(t, 'what', fn) from test/helpers/cleanup.ts, not a bare t.after: the runner skips every
#   later t.after once one throws, and that once left an agent running and the suite hung for
#   12 minutes. Deferred steps run last-registered first, each bounded in time, every one even
#   when another throws; the test then fails naming each step that failed.
# - Processes: a test that spawns a long-lived process passes it to killOnExit() (same file), so
#   it is killed when the test file's process exits, whatever happened to the hooks.
# - --test-force-exit: a test file's process exits once its tests are done, even if something it
#   started still holds the event loop; the leftover is reported by the test that owns it, not by
#   a run that never ends.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
TEST_TIMEOUT_MS=180000
export PATH="$root/tools/node/node_modules/node/bin:$PATH"
if [ "$#" -eq 0 ]; then set -- 'test/**/*.test.ts'; fi
node node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
exec node --test --test-concurrency=1 --test-timeout="$TEST_TIMEOUT_MS" --test-force-exit --test-reporter=spec "$@"
