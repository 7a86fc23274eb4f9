#!/usr/bin/env bash
# Runs the tests that need a real Kubernetes control plane: builds (or reuses from the cache)
# etcd, kube-apiserver and kube-controller-manager, then runs test/cluster/ with their paths in
# the environment.
#
# As root with iproute2, the tests run inside a network namespace made for this run, where
# 10.244.0.0/16 is local: pods get real (non-loopback) pod IPs, which EndpointSlice
# validation requires, and nothing leaves the namespace. Otherwise pods use loopback IPs.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/k8s-bins.sh | sed 's/^/export /')"
run() { node --test --test-reporter=spec "test/cluster/**/*.test.ts"; }
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && [ -z "${SKIFF_IN_NETNS:-}" ]; then
  ns="skiff-test-$$"
  ip netns add "$ns"
  trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
  ip -n "$ns" link set lo up
  ip -n "$ns" route add local 10.244.0.0/16 dev lo
  export SKIFF_IN_NETNS=1 SKIFF_POD_CIDR=10.244
  ip netns exec "$ns" bash -c "$(declare -f run); run"
else
  run
fi
