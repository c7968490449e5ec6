#!/usr/bin/env bash
# One command from a fresh Debian machine (as root): install what is missing, build, run all tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh" --with-test-deps
bash "$root/k8s/build.sh" >/dev/null # kube-apiserver for the tests' control plane (test/helpers/kube-apiserver.ts), cached by version
exec bash "$root/scripts/run-tests.sh" "$@"
