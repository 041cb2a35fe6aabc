#!/bin/sh
# Installs the Node dependencies when they are missing or older than package-lock.json,
# so that `npm start` and `npm test` work on a fresh clone by themselves.
set -eu
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "firebreak: 'node' was not found on PATH; install Node.js 20.19+ (https://nodejs.org) and try again." >&2
  exit 1
fi
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (!((maj === 20 && min >= 19) || (maj === 22 && min >= 12) || maj > 22)) {
    console.error(`firebreak: Node.js ${process.versions.node} is too old; install Node.js 20.19+ (or 22.12+) and try again.`);
    process.exit(1);
  }
'
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "firebreak: installing Node dependencies (npm ci)…" >&2
  npm ci --no-audit --no-fund >&2
fi
