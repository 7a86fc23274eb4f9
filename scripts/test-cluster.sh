#!/usr/bin/env bash
# Runs the tests that need a real Kubernetes control plane: builds (or reuses from the cache)
# etcd and kube-apiserver, then runs test/cluster/ with their paths in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/k8s-bins.sh | sed 's/^/export /')"
exec node --test --test-reporter=spec "test/cluster/**/*.test.ts"
