#!/usr/bin/env bash
# Builds the interop harness (test and bench tool only; nothing shipped needs Go):
#   gospiffe      the go-spiffe v2 client program (interop/go/client)
#   spire-server  SPIRE's server, built from the Go module proxy (interop/go/spire, go tool directives)
#   spire-agent   SPIRE's agent, likewise
# into a cache directory keyed by the hash of the modules' go.mod, go.sum and sources, so a
# second run costs nothing:
#   ${MITHRIL_INTEROP_CACHE:-~/.cache/mithril-interop}/<key>/bin
# Prints progress on stderr and, as its last stdout line, HARNESS_BIN=<that bin directory>.
# Exits non-zero (with the Go tool's own error) when anything cannot be built.
#
# Go: $GO, else `go` on PATH, else /usr/local/go/bin/go or /usr/lib/go/bin/go. GOTOOLCHAIN=auto lets
# a Go >= 1.21 fetch the toolchain the modules ask for from the module proxy; an older Go (Debian
# bookworm's golang-go is 1.19) cannot, so then the toolchain module is downloaded with it from the
# same proxy (golang.org/toolchain, what GOTOOLCHAIN=auto itself fetches) and used instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { echo "interop: $*" >&2; }

key=$(cat "$here"/client/go.mod "$here"/client/go.sum "$here"/client/*.go "$here"/spire/go.mod "$here"/spire/go.sum \
  | sha256sum | cut -c1-16)
cache=${MITHRIL_INTEROP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mithril-interop}
out=$cache/$key
mkdir -p "$cache"

done_already() { [ -x "$out/bin/gospiffe" ] && [ -x "$out/bin/spire-server" ] && [ -x "$out/bin/spire-agent" ]; }
if done_already; then
  log "harness cached in $out/bin"
  echo "HARNESS_BIN=$out/bin"
  exit 0
fi

# One build at a time (tests and bench may ask together); the loser finds the cache filled.
exec 9>"$cache/.lock"
flock 9
if done_already; then
  log "harness cached in $out/bin (built by another run)"
  echo "HARNESS_BIN=$out/bin"
  exit 0
fi

go=${GO:-}
if [ -z "$go" ]; then
  for g in "$(command -v go || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
    if [ -n "$g" ] && [ -x "$g" ]; then go=$g; break; fi
  done
fi
if [ -z "$go" ]; then
  log "no Go found (set GO=/path/to/go, or install Debian's golang-go); cannot build the harness"
  exit 1
fi
export GOTOOLCHAIN=auto GOFLAGS=-mod=readonly
need=$(sed -n 's/^go //p' "$here/spire/go.mod")
have=$("$go" env GOVERSION 2>/dev/null || "$go" version | awk '{print $3}')
log "using $go ($have); the modules need go $need"
minor=$(echo "$have" | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [ -n "$minor" ] && [ "$minor" -lt 21 ]; then
  # Too old for GOTOOLCHAIN: fetch the toolchain module from the proxy with this Go.
  tc="golang.org/toolchain@v0.0.1-go$need.$("$go" env GOOS)-$("$go" env GOARCH)"
  log "$have predates GOTOOLCHAIN; downloading $tc from the module proxy"
  dir=$(cd "$cache" && GOFLAGS= GO111MODULE=on "$go" mod download -json "$tc" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { log "could not download $tc"; exit 1; }
  tcdir=$cache/go$need
  if [ ! -x "$tcdir/bin/go" ]; then
    rm -rf "$tcdir.tmp" && cp -r "$dir" "$tcdir.tmp" && chmod -R u+w "$tcdir.tmp"
    chmod +x "$tcdir.tmp"/bin/* "$tcdir.tmp"/pkg/tool/*/*
    mv "$tcdir.tmp" "$tcdir"
  fi
  go=$tcdir/bin/go
  log "using $go ($("$go" env GOVERSION))"
fi

tmp=$out.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp/bin"
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
log "building gospiffe (go-spiffe $(sed -n 's/.*go-spiffe\/v2 \(v[^ ]*\).*/\1/p' "$here/client/go.mod" | head -1)) ..."
(cd "$here/client" && "$go" build -o "$tmp/bin/gospiffe" .)
spire=$(sed -n 's/^[[:space:]]*github.com\/spiffe\/spire \(v[^ ]*\).*/\1/p' "$here/spire/go.mod" | head -1)
log "gospiffe built in $(( $(date +%s) - start )) s; building SPIRE $spire spire-server and spire-agent from the module proxy (minutes the first time) ..."
(cd "$here/spire" && GOBIN="$tmp/bin" "$go" install github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent)
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
log "harness built in $(( $(date +%s) - start )) s into $out/bin"
echo "HARNESS_BIN=$out/bin"
