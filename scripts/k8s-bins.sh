#!/usr/bin/env bash
# Builds the real Kubernetes components the cluster tests run (etcd, kube-apiserver,
# kube-controller-manager) from the Go module proxy into a cache outside the clone,
# keyed by version. Idempotent: with a warm cache it only prints the paths.
#
#   scripts/k8s-bins.sh            build what is missing, print "NAME=PATH" lines
#   SKIFF_CACHE=/some/dir ...      cache root (default ~/.cache/skiff)
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.14}"
CACHE="${SKIFF_CACHE:-$HOME/.cache/skiff}"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod

minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
patch="${K8S_VERSION##*.}"
k8s_dir="$CACHE/k8s/v$K8S_VERSION"
etcd_dir="$CACHE/etcd/v$ETCD_VERSION"

log() { printf '[k8s-bins] %s\n' "$*" >&2; }

build_etcd() {
  if [ -x "$etcd_dir/etcd" ]; then return; fi
  log "building etcd v$ETCD_VERSION (cold build, a few minutes)"
  local work; work=$(mktemp -d)
  (
    cd "$work"
    go mod init local/etcdbin >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2
    mkdir -p "$etcd_dir.tmp"
    go build -trimpath -ldflags "-s -w" -o "$etcd_dir.tmp/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$etcd_dir"; mv "$etcd_dir.tmp" "$etcd_dir"; rm -rf "$work"
}

build_k8s() {
  if [ -x "$k8s_dir/kube-apiserver" ] && [ -x "$k8s_dir/kube-controller-manager" ] && [ -x "$k8s_dir/kubectl" ]; then return; fi
  log "building kube-apiserver, kube-controller-manager and kubectl v$K8S_VERSION (cold build about 8 minutes on 2 cores)"
  local work; work=$(mktemp -d)
  (
    cd "$work"
    go mod init local/k8sbin >/dev/null 2>&1
    # The staging modules are replaced by ./staging paths in Kubernetes' own go.mod;
    # derive the list from that go.mod so it follows the chosen version.
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
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    go mod tidy >&2
    local ld="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitTreeState=clean"
    mkdir -p "$k8s_dir.tmp"
    go build -trimpath -ldflags "$ld" -o "$k8s_dir.tmp/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
  )
  rm -rf "$k8s_dir"; mv "$k8s_dir.tmp" "$k8s_dir"; rm -rf "$work"
}

start=$(date +%s)
build_etcd
build_k8s
log "ready in $(( $(date +%s) - start ))s"
echo "ETCD_BIN=$etcd_dir/etcd"
echo "KUBE_APISERVER_BIN=$k8s_dir/kube-apiserver"
echo "KUBE_CONTROLLER_MANAGER_BIN=$k8s_dir/kube-controller-manager"
echo "KUBECTL_BIN=$k8s_dir/kubectl"
