#!/usr/bin/env bash
# What the unit suite's real-network tests need from the host: iptables (transparent capture
# in a network namespace, test/proxy/capture.test.ts) and iproute2. Installed from Debian when
# missing; as root only (without root those tests say so and are skipped).
set -euo pipefail
missing=()
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  echo "== installing ${missing[*]} from Debian" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
