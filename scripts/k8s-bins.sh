#!/usr/bin/env bash
# Builds the real Kubernetes components the cluster tests run from the Go module proxy into a
# cache outside the clone, keyed by version. Idempotent: with a warm cache it only prints the
# paths.
#
#   scripts/k8s-bins.sh          etcd, kube-apiserver, kube-controller-manager, kubectl
#   scripts/k8s-bins.sh --node   also kubelet, kube-scheduler, kube-proxy and CoreDNS (a real node)
#   SKIFF_CACHE=/some/dir ...    cache root (default ~/.cache/skiff)
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.14}"
COREDNS_VERSION="${COREDNS_VERSION:-1.15.0}"
CACHE="${SKIFF_CACHE:-$HOME/.cache/skiff}"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod

minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
patch="${K8S_VERSION##*.}"
k8s_dir="$CACHE/k8s/v$K8S_VERSION"
node_dir="$CACHE/k8s-node/v$K8S_VERSION"
etcd_dir="$CACHE/etcd/v$ETCD_VERSION"
coredns_dir="$CACHE/coredns/v$COREDNS_VERSION"

log() { printf '[k8s-bins] %s\n' "$*" >&2; }

# go_build_module <out dir> <module@version> <package> <binary>: one binary of a plain Go module.
go_build_module() {
  local out="$1" module="$2" package="$3" binary="$4"
  if [ -x "$out/$binary" ]; then return; fi
  log "building $binary from $module (cold build, a few minutes)"
  local work; work=$(mktemp -d)
  (
    cd "$work"
    go mod init "local/$binary" >/dev/null 2>&1
    go get "$module" >&2
    mkdir -p "$out.tmp"
    go build -trimpath -ldflags "-s -w" -o "$out.tmp/$binary" "$package"
  )
  rm -rf "$out"; mv "$out.tmp" "$out"; rm -rf "$work"
}

# build_k8s <out dir> <cmd>...: Kubernetes commands (k8s.io/kubernetes/cmd/<cmd>) of K8S_VERSION.
build_k8s() {
  local out="$1"; shift
  local missing=0 cmd
  for cmd in "$@"; do [ -x "$out/$cmd" ] || missing=1; done
  if [ "$missing" = 0 ]; then return; fi
  log "building $* v$K8S_VERSION (cold build about 8 minutes on 2 cores; later sets reuse the Go cache)"
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
    { printf '//go:build tools\n\npackage tools\n\nimport (\n'; for cmd in "$@"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$cmd"; done; printf ')\n'; } > tools.go
    go mod tidy >&2
    local ld="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitTreeState=clean"
    mkdir -p "$out.tmp"
    local packages=(); for cmd in "$@"; do packages+=("k8s.io/kubernetes/cmd/$cmd"); done
    go build -trimpath -ldflags "$ld" -o "$out.tmp/" "${packages[@]}"
  )
  rm -rf "$out"; mv "$out.tmp" "$out"; rm -rf "$work"
}

start=$(date +%s)
go_build_module "$etcd_dir" "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" go.etcd.io/etcd/server/v3 etcd
build_k8s "$k8s_dir" kube-apiserver kube-controller-manager kubectl
if [ "${1:-}" = "--node" ]; then
  build_k8s "$node_dir" kubelet kube-scheduler kube-proxy
  go_build_module "$coredns_dir" "github.com/coredns/coredns@v$COREDNS_VERSION" github.com/coredns/coredns coredns
fi
log "ready in $(( $(date +%s) - start ))s"
echo "ETCD_BIN=$etcd_dir/etcd"
echo "KUBE_APISERVER_BIN=$k8s_dir/kube-apiserver"
echo "KUBE_CONTROLLER_MANAGER_BIN=$k8s_dir/kube-controller-manager"
echo "KUBECTL_BIN=$k8s_dir/kubectl"
if [ "${1:-}" = "--node" ]; then
  echo "KUBELET_BIN=$node_dir/kubelet"
  echo "KUBE_SCHEDULER_BIN=$node_dir/kube-scheduler"
  echo "KUBE_PROXY_BIN=$node_dir/kube-proxy"
  echo "COREDNS_BIN=$coredns_dir/coredns"
fi
