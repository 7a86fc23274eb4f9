#!/usr/bin/env bash
# Builds the node-side Kubernetes components for a real test node (kubelet, kube-scheduler,
# kube-proxy) and CoreDNS from the Go module proxy into the cache outside the clone, keyed by
# version, like scripts/k8s-bins.sh. Idempotent: with a warm cache it only prints the paths.
# (The container runtime, runc and CNI plugins come from Debian packages.)
#
#   scripts/node-bins.sh           build what is missing, print "NAME=PATH" lines
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"
COREDNS_VERSION="${COREDNS_VERSION:-1.15.0}"
CACHE="${SKIFF_CACHE:-$HOME/.cache/skiff}"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod

minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
patch="${K8S_VERSION##*.}"
node_dir="$CACHE/k8s-node/v$K8S_VERSION"
coredns_dir="$CACHE/coredns/v$COREDNS_VERSION"

log() { printf '[node-bins] %s\n' "$*" >&2; }

build_node() {
  if [ -x "$node_dir/kubelet" ] && [ -x "$node_dir/kube-scheduler" ] && [ -x "$node_dir/kube-proxy" ]; then return; fi
  log "building kubelet, kube-scheduler and kube-proxy v$K8S_VERSION"
  local work; work=$(mktemp -d)
  (
    cd "$work"
    go mod init local/k8snode >/dev/null 2>&1
    gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
    [ -f "$gomod" ] || { log "cannot find go.mod of k8s.io/kubernetes@v$K8S_VERSION"; exit 1; }
    for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/src/.*#\1#p' "$gomod"); do
      go mod edit "-replace=$m=$m@v0.$minor.$patch"
    done
    go mod edit "-require=k8s.io/kubernetes@v$K8S_VERSION"
    cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
    go mod tidy >&2
    local ld="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitTreeState=clean"
    mkdir -p "$node_dir.tmp"
    go build -trimpath -ldflags "$ld" -o "$node_dir.tmp/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy
  )
  rm -rf "$node_dir"; mv "$node_dir.tmp" "$node_dir"; rm -rf "$work"
}

build_coredns() {
  if [ -x "$coredns_dir/coredns" ]; then return; fi
  log "building CoreDNS v$COREDNS_VERSION"
  local work; work=$(mktemp -d)
  (
    cd "$work"
    go mod init local/corednsbin >/dev/null 2>&1
    go get "github.com/coredns/coredns@v$COREDNS_VERSION" >&2
    mkdir -p "$coredns_dir.tmp"
    go build -trimpath -ldflags "-s -w" -o "$coredns_dir.tmp/coredns" github.com/coredns/coredns
  )
  rm -rf "$coredns_dir"; mv "$coredns_dir.tmp" "$coredns_dir"; rm -rf "$work"
}

start=$(date +%s)
build_node
build_coredns
log "ready in $(( $(date +%s) - start ))s"
echo "KUBELET_BIN=$node_dir/kubelet"
echo "KUBE_SCHEDULER_BIN=$node_dir/kube-scheduler"
echo "KUBE_PROXY_BIN=$node_dir/kube-proxy"
echo "COREDNS_BIN=$coredns_dir/coredns"
