#!/usr/bin/env bash
# nginx for the read-only HTTP storage tests (frazil-http): Debian's nginx-light.
# The tests start their own nginx process (config in a tmp dir); this only installs it.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]]; then
  exit 0
fi
SUDO=""
if [[ "$(id -u)" != "0" ]]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
