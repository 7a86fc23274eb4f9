#!/usr/bin/env bash
# The dashboard in a real browser: Debian's chromium (installed here when missing), driven by
# playwright-core (no browser download). Needs root for apt-get only when chromium is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
export PATH="$PWD/node_modules/.bin:$PATH"
node --test --test-reporter=spec --test-concurrency=1 "test/browser/**/*.test.ts"
