#!/usr/bin/env bash
# Builds promtool (Prometheus's rule checker and rule unit tester) from Go modules
# fetched through the Go module proxy, for the chart's alert tests.
#
# Output: ${PODPATTERNS_PROMTOOL_CACHE:-$HOME/.cache/podpatterns-promtool}/bin/promtool
# The last line on stdout is the path of the binary; progress and go output go to stderr.
#
# If PODPATTERNS_PROMTOOL names an executable promtool, nothing is built and that path is printed.
set -euo pipefail

# ---- pinned version ---------------------------------------------------------
# Prometheus tags its Go module v0.3MM.P for release 3.MM.P (the VERSION file of the module).
PROMETHEUS_VERSION="${PODPATTERNS_PROMETHEUS_VERSION:-3.16.0}"
# -----------------------------------------------------------------------------

log() { printf '[promtool %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ -n "${PODPATTERNS_PROMTOOL:-}" ]]; then
  [[ -x "$PODPATTERNS_PROMTOOL" ]] || die "PODPATTERNS_PROMTOOL=$PODPATTERNS_PROMTOOL is not executable"
  printf '%s\n' "$PODPATTERNS_PROMTOOL"
  exit 0
fi

CACHE_DIR="${PODPATTERNS_PROMTOOL_CACHE:-${HOME:-/tmp}/.cache/podpatterns-promtool}"
BIN_DIR="$CACHE_DIR/bin"
PROMTOOL="$BIN_DIR/promtool"
MAJOR="${PROMETHEUS_VERSION%%.*}"
REST="${PROMETHEUS_VERSION#*.}"
MODULE_VERSION="v0.${MAJOR}$(printf '%02d' "${REST%%.*}").${REST#*.}"

# `promtool --version` prints "promtool, version 3.16.0 (branch: ..., revision: ...)".
up_to_date() {
  local out
  [[ -x "$PROMTOOL" ]] || return 1
  out="$("$PROMTOOL" --version 2>&1)" || return 1
  [[ "$(head -n1 <<<"$out")" == "promtool, version ${PROMETHEUS_VERSION} "* ]]
}

mkdir -p "$BIN_DIR"
# Serialise concurrent callers (parallel test workers).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_DIR/.build.lock"
  flock 9
fi

# Quiet when there is nothing to do: the tests call this on every run.
if up_to_date; then
  printf '%s\n' "$PROMTOOL"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "go is not on PATH"
# Never download another toolchain, never pick up a go.work; the module has no replace
# directives, so `go install module@version` builds exactly the tagged release.
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-buildvcs=false

start=$(date +%s)
log "promtool ${PROMETHEUS_VERSION} (github.com/prometheus/prometheus@${MODULE_VERSION}): compiling (cold: minutes on 2 cores)"
# The version variable of Prometheus's .promu.yml (its revision and branch come from git, which a module
# download has not); `netgo` as in its release builds.
ld="-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION}"
(cd / && GOBIN="$CACHE_DIR/.gobin" go install -trimpath -tags netgo -ldflags="$ld" \
  "github.com/prometheus/prometheus/cmd/promtool@${MODULE_VERSION}") >&2 \
  || die "go install github.com/prometheus/prometheus/cmd/promtool@${MODULE_VERSION} failed"
mv -f "$CACHE_DIR/.gobin/promtool" "$PROMTOOL"
up_to_date || die "built promtool does not report version ${PROMETHEUS_VERSION}"
log "promtool ${PROMETHEUS_VERSION}: built in $(( $(date +%s) - start ))s"
printf '%s\n' "$PROMTOOL"
