#!/usr/bin/env bash
# Azurite (Azure Blob emulator, npm) for the frazil-azure tests. Idempotent; starts nothing.
# Installs node/npm from Debian only when missing, then azurite 3.35.x (the last line
# supporting Node 20) into $ROOT/.ci/.cache/azurite. Tests find it there (or on PATH).
set -euo pipefail
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
DEST="$ROOT/.ci/.cache/azurite"
BIN="$DEST/node_modules/.bin/azurite-blob"

if [[ -x "$BIN" ]] && "$BIN" --version 2>/dev/null | grep -q '^3\.35\.'; then
  exit 0
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq nodejs npm >/dev/null
fi
mkdir -p "$DEST"
cd "$DEST"
[[ -f package.json ]] || printf '{"name": "frazil-azurite", "private": true}\n' > package.json
npm install --silent --no-audit --no-fund --no-save azurite@3.35 >/dev/null 2>&1 \
  || npm install --no-audit --no-fund --no-save azurite@3.35
"$BIN" --version >/dev/null
