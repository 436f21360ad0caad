#!/usr/bin/env bash
# Vendors the dashboard's front-end libraries from npm (versions pinned by package-lock.json) into
# src/main/resources, where the Maven build packs them into the jar: the page never fetches
# anything at run time, and `mvn -B verify` needs no node. Run after changing package.json:
#   ./build.sh          # npm ci, copy, write SHA256SUMS
#   ./build.sh --check  # npm ci in a temporary copy and compare with what is committed
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../src/main/resources/io/mithril/dashboard/web/vendor"
work="$here"
if [[ "${1:-}" == "--check" ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp "$here/package.json" "$here/package-lock.json" "$work/"
fi
(cd "$work" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
version=$(node -p "require('$work/node_modules/cytoscape/package.json').version")
if [[ "${1:-}" == "--check" ]]; then
  if cmp -s "$work/node_modules/cytoscape/dist/cytoscape.min.js" "$out/cytoscape.min.js"; then
    echo "vendor/cytoscape.min.js matches cytoscape $version from package-lock.json"
    exit 0
  fi
  echo "vendor/cytoscape.min.js differs from cytoscape $version of package-lock.json: run ./build.sh" >&2
  exit 1
fi
mkdir -p "$out"
cp "$work/node_modules/cytoscape/dist/cytoscape.min.js" "$out/cytoscape.min.js"
(cd "$out" && sha256sum cytoscape.min.js > SHA256SUMS && echo "cytoscape $version" > VERSIONS)
echo "vendored cytoscape $version into $out"
