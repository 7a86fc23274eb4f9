#!/usr/bin/env bash
# Runs test/node/: a real node (kubelet, containerd, runc, CNI) next to a real control plane,
# all inside a network namespace made for this run. Installs containerd, the CNI plugins,
# runc and mmdebstrap from Debian when missing; builds kubelet with scripts/k8s-bins.sh --node,
# Flagger, Argo Rollouts and Prometheus with scripts/delivery-bins.sh --rollouts.
# Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v containerd >/dev/null || [ ! -x /usr/lib/cni/bridge ] || ! command -v runc >/dev/null || ! command -v mmdebstrap >/dev/null; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd containernetworking-plugins runc mmdebstrap >&2
fi
eval "$(bash scripts/k8s-bins.sh --node | sed 's/^/export /')"
eval "$(bash scripts/delivery-bins.sh --rollouts | sed 's/^/export /')"
ns="skiff-node-$$"
host_if="sn$$"; node_if="snn$$"
ip netns add "$ns"
cleanup() { ip link del "$host_if" 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip -n "$ns" link set lo up
# The node's own interface (kubelet needs an address and a default route); nothing is forwarded.
ip link add "$host_if" type veth peer name "$node_if"
ip link set "$node_if" netns "$ns"
ip -n "$ns" addr add 10.250.0.2/30 dev "$node_if"
ip -n "$ns" link set "$node_if" up
ip -n "$ns" route add default via 10.250.0.1 dev "$node_if" onlink
export SKIFF_NODE_IP=10.250.0.2
# nsenter, not `ip netns exec`: the latter mounts a fresh /sys, hiding the cgroup mounts runc needs.
nsenter --net="/var/run/netns/$ns" node --test --test-reporter=spec "${SKIFF_NODE_TESTS:-test/node/**/*.test.ts}"
