#!/usr/bin/env bash
# One step on a fresh Debian 12 machine, as root: install the system packages
# and npm dependencies, build vmspec, then run the main job: build the
# reference image from Debian arm64 packages and verify it clause by clause.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: vmspec needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "setup: Debian 12's nodejs is 18; install Node 20 (e.g. from NodeSource) and run again." >&2
  exit 2
fi

bash scripts/install-system-packages.sh
npm ci --no-audit --no-fund
npm run build

echo "setup: building the reference image (first run downloads ~60 MB of Debian arm64 packages)" >&2
image=$(node bin/vmspec.js reference build)
echo "setup: verifying $image" >&2
exec node bin/vmspec.js verify "$image"
