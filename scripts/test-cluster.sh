#!/usr/bin/env bash
# Runs the tests that need a real Kubernetes control plane: builds (or reuses from the cache)
# etcd, kube-apiserver, kube-controller-manager and kubectl, then runs test/cluster/ with their
# paths in the environment. (Traffic between real pods runs on a real node: test-node.sh.)
#
# As root with iproute2, the tests run inside a network namespace made for this run, where
# 10.244.0.0/16 is local, so nothing they start is reachable from outside or collides with
# the host.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/k8s-bins.sh | sed 's/^/export /')"
run() { node --test --test-reporter=spec "${SKIFF_CLUSTER_TESTS:-test/cluster/**/*.test.ts}"; }
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && [ -z "${SKIFF_IN_NETNS:-}" ]; then
  ns="skiff-test-$$"
  ip netns add "$ns"
  trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
  ip -n "$ns" link set lo up
  ip -n "$ns" route add local 10.244.0.0/16 dev lo
  export SKIFF_IN_NETNS=1
  ip netns exec "$ns" bash -c "$(declare -f run); run"
else
  run
fi
