#!/usr/bin/env bash
# Builds the progressive-delivery controllers the delivery tests drive, from the Go module
# proxy into a cache outside the clone, keyed by version; their CRDs and RBAC come from the
# same module (the module cache), never from a copy in this repository. Idempotent.
#
#   scripts/delivery-bins.sh     Flagger, and Prometheus (Debian's build leaves out Kubernetes
#                                service discovery, which the tests use, so it is built here)
#   ... --rollouts               also the Argo Rollouts controller
#   SKIFF_CACHE=/some/dir ...    cache root (default ~/.cache/skiff)
set -euo pipefail

FLAGGER_VERSION="${FLAGGER_VERSION:-1.44.0}"
# Prometheus 3.16.0 (its Go module numbers 3.x releases as v0.3xx).
PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-0.316.0}"
CACHE="${SKIFF_CACHE:-$HOME/.cache/skiff}"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
ROLLOUTS_VERSION="${ROLLOUTS_VERSION:-1.10.1}"
flagger_dir="$CACHE/flagger/v$FLAGGER_VERSION"
rollouts_dir="$CACHE/argo-rollouts/v$ROLLOUTS_VERSION"
prometheus_dir="$CACHE/prometheus/v$PROMETHEUS_MODULE_VERSION"

log() { printf '[delivery-bins] %s\n' "$*" >&2; }

start=$(date +%s)
if [ ! -x "$flagger_dir/flagger" ]; then
  log "building flagger v$FLAGGER_VERSION (cold: about 3.5 minutes on 2 cores)"
  rm -rf "$flagger_dir.tmp"; mkdir -p "$flagger_dir.tmp"
  GOBIN="$flagger_dir.tmp" go install -trimpath -ldflags "-s -w" \
    "github.com/fluxcd/flagger/cmd/flagger@v$FLAGGER_VERSION" >&2
  module_dir=$(go mod download -json "github.com/fluxcd/flagger@v$FLAGGER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  cp "$module_dir/artifacts/flagger/crd.yaml" "$flagger_dir.tmp/crd.yaml"
  chmod u+w "$flagger_dir.tmp/crd.yaml"
  rm -rf "$flagger_dir"; mv "$flagger_dir.tmp" "$flagger_dir"
fi
if [ ! -x "$prometheus_dir/prometheus" ]; then
  log "building prometheus (module v$PROMETHEUS_MODULE_VERSION; cold: about 4 minutes on 2 cores)"
  rm -rf "$prometheus_dir.tmp"; mkdir -p "$prometheus_dir.tmp"
  GOBIN="$prometheus_dir.tmp" go install -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=3.${PROMETHEUS_MODULE_VERSION#0.3}" "github.com/prometheus/prometheus/cmd/prometheus@v$PROMETHEUS_MODULE_VERSION" >&2
  rm -rf "$prometheus_dir"; mv "$prometheus_dir.tmp" "$prometheus_dir"
fi
# Argo Rollouts' go.mod replaces modules (k8s.io/* pinned, forks), which `go install m@v`
# refuses: build it from a module of our own that requires it and carries the same replaces.
if [ "${1:-}" = "--rollouts" ] && [ ! -x "$rollouts_dir/rollouts-controller" ]; then
  log "building argo-rollouts v$ROLLOUTS_VERSION (cold: about 3 minutes on 2 cores)"
  work=$(mktemp -d)
  (
    cd "$work"
    go mod init local/rollouts >/dev/null 2>&1
    info=$(go mod download -json "github.com/argoproj/argo-rollouts@v$ROLLOUTS_VERSION")
    gomod=$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
    module_dir=$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    sed -n '/^replace (/,/^)/p' "$gomod" | sed -n 's#^[[:space:]]*\([^ ]*\) => \([^ ]*\) \([^ ]*\)$#\1=\2@\3#p' | while read -r r; do go mod edit "-replace=$r"; done
    go mod edit "-require=github.com/argoproj/argo-rollouts@v$ROLLOUTS_VERSION"
    printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/argoproj/argo-rollouts/cmd/rollouts-controller"\n' > tools.go
    go mod tidy >&2
    rm -rf "$rollouts_dir.tmp"; mkdir -p "$rollouts_dir.tmp"
    go build -trimpath -ldflags "-s -w" -o "$rollouts_dir.tmp/rollouts-controller" github.com/argoproj/argo-rollouts/cmd/rollouts-controller
    for f in "$module_dir"/manifests/crds/*-crd.yaml; do echo "---"; cat "$f"; done > "$rollouts_dir.tmp/crds.yaml"
  )
  rm -rf "$rollouts_dir"; mv "$rollouts_dir.tmp" "$rollouts_dir"; rm -rf "$work"
fi
log "ready in $(( $(date +%s) - start ))s"
echo "FLAGGER_BIN=$flagger_dir/flagger"
echo "FLAGGER_CRDS=$flagger_dir/crd.yaml"
echo "PROMETHEUS_BIN=$prometheus_dir/prometheus"
if [ "${1:-}" = "--rollouts" ]; then
  echo "ROLLOUTS_BIN=$rollouts_dir/rollouts-controller"
  echo "ROLLOUTS_CRDS=$rollouts_dir/crds.yaml"
fi
