#!/usr/bin/env bash
# One command from a fresh Debian machine (as root): install what is missing, build, run all tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh" --with-test-deps
exec bash "$root/scripts/run-tests.sh" "$@"
