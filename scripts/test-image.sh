#!/usr/bin/env bash
# Builds Skiff's image and checks it for real: reproducible layers, and podman (runc, cgroupfs)
# runs it read-only as the unprivileged user. Installs mmdebstrap, podman and runc from Debian
# when missing (nothing is pulled from a container registry).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mmdebstrap >/dev/null || ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap podman runc >&2
fi
node --test --test-reporter=spec "test/image/**/*.test.ts"
