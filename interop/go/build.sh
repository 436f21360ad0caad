#!/usr/bin/env bash
# Builds the interop harness (test and bench tool only; nothing shipped needs Go):
#   gospiffe      the go-spiffe v2 client program (interop/go/client)
#   spire-server  SPIRE's server, built from the Go module proxy (interop/go/spire, go tool directives)
#   spire-agent   SPIRE's agent, likewise
# into cache directories keyed by the hash of each module's go.mod, go.sum (and the client's
# sources), so a second run costs nothing:
#   ${MITHRIL_INTEROP_CACHE:-~/.cache/mithril-interop}/gospiffe-<key>/gospiffe
#   ${MITHRIL_INTEROP_CACHE:-~/.cache/mithril-interop}/spire-<key>/{spire-server,spire-agent}
# Prints progress on stderr and, on stdout, GOSPIFFE=<path> and SPIRE_BIN=<directory>.
# Exits non-zero (with the Go tool's own error) when anything cannot be built.
#
# Go: $GO, else `go` on PATH, else /usr/local/go/bin/go or /usr/lib/go/bin/go. GOTOOLCHAIN=auto lets
# a Go >= 1.21 fetch the toolchain the modules ask for from the module proxy; an older Go (Debian
# bookworm's golang-go is 1.19) cannot, so then the toolchain module is downloaded with it from the
# same proxy (golang.org/toolchain, what GOTOOLCHAIN=auto itself fetches) and used instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { echo "interop: $*" >&2; }

hash() { cat "$@" | sha256sum | cut -c1-16; }
cache=${MITHRIL_INTEROP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mithril-interop}
# Two keys, so that changing the client program does not rebuild SPIRE.
client_out=$cache/gospiffe-$(hash "$here"/client/go.mod "$here"/client/go.sum "$here"/client/*.go)
spire_out=$cache/spire-$(hash "$here"/spire/go.mod "$here"/spire/go.sum)
mkdir -p "$cache"

report() {
  echo "GOSPIFFE=$client_out/gospiffe"
  echo "SPIRE_BIN=$spire_out"
}
done_already() { [ -x "$client_out/gospiffe" ] && [ -x "$spire_out/spire-server" ] && [ -x "$spire_out/spire-agent" ]; }
if done_already; then
  log "harness cached: $client_out/gospiffe, $spire_out/{spire-server,spire-agent}"
  report
  exit 0
fi

# One build at a time (tests and bench may ask together); the loser finds the cache filled.
exec 9>"$cache/.lock"
flock 9
if done_already; then
  log "harness cached (built by another run): $client_out, $spire_out"
  report
  exit 0
fi

go=${GO:-}
if [ -z "$go" ]; then
  for g in "$(command -v go || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
    if [ -n "$g" ] && [ -x "$g" ]; then go=$g; break; fi
  done
fi
if [ -z "$go" ] || [ ! -x "$go" ]; then
  log "no Go found${go:+ at $go} (set GO=/path/to/go, or install Debian's golang-go); cannot build the harness"
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

start=$(date +%s)
if [ ! -x "$client_out/gospiffe" ]; then
  log "building gospiffe (go-spiffe $(sed -n 's/.*go-spiffe\/v2 \(v[^ ]*\).*/\1/p' "$here/client/go.mod" | head -1)) ..."
  rm -rf "$client_out.tmp" && mkdir -p "$client_out.tmp"
  (cd "$here/client" && "$go" build -o "$client_out.tmp/gospiffe" .)
  rm -rf "$client_out" && mv "$client_out.tmp" "$client_out"
  log "gospiffe built in $(( $(date +%s) - start )) s"
fi
if [ ! -x "$spire_out/spire-server" ] || [ ! -x "$spire_out/spire-agent" ]; then
  spire=$(sed -n 's/^[[:space:]]*github.com\/spiffe\/spire \(v[^ ]*\).*/\1/p' "$here/spire/go.mod" | head -1)
  log "building SPIRE $spire spire-server and spire-agent from the module proxy (minutes the first time) ..."
  t=$(date +%s)
  rm -rf "$spire_out.tmp" && mkdir -p "$spire_out.tmp"
  (cd "$here/spire" && GOBIN="$spire_out.tmp" "$go" install github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent)
  rm -rf "$spire_out" && mv "$spire_out.tmp" "$spire_out"
  log "SPIRE built in $(( $(date +%s) - t )) s"
fi
log "harness built in $(( $(date +%s) - start )) s: $client_out/gospiffe, $spire_out/{spire-server,spire-agent}"
report
