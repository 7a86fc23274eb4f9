#!/usr/bin/env bash
# Tools the benchmarks use, built or installed into caches outside the clone:
#   fortio (constant-rate HTTP load, from the Go module proxy), nginx and HAProxy (Debian).
set -euo pipefail
CACHE="${SKIFF_CACHE:-$HOME/.cache/skiff}"
FORTIO_VERSION="${FORTIO_VERSION:-1.63.0}"
mkdir -p "$CACHE/tools/fortio-$FORTIO_VERSION"
if [ ! -x "$CACHE/tools/fortio-$FORTIO_VERSION/fortio" ]; then
  GOTOOLCHAIN=local GOBIN="$CACHE/tools/fortio-$FORTIO_VERSION" go install "fortio.org/fortio@v$FORTIO_VERSION" >&2
fi
if ! command -v nginx >/dev/null || ! command -v haproxy >/dev/null; then
  apt-get update -qq >&2 && apt-get install -y -qq nginx-light haproxy >&2
fi
echo "FORTIO=$CACHE/tools/fortio-$FORTIO_VERSION/fortio"
