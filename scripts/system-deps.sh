#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when missing and when we can:
# chromium (the official Admin UI test) and redis-server (the cluster tests start their
# own on a free loopback port; sioscope demo --cluster uses it when present).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: missing ${need[*]} and not root; the tests that need them will skip (and fail under CI=true)" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
