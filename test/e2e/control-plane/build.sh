#!/usr/bin/env bash
# Builds a real Kubernetes control plane (kube-apiserver + etcd, no kubelet)
# for the e2e tests, from Go modules fetched through the Go module proxy.
#
# Output: ${PODPATTERNS_E2E_CACHE:-<repo>/.cache/e2e}/bin/{kube-apiserver,etcd,versions}
# The last line on stdout is the folder holding the two binaries; everything
# else (progress, go output) goes to stderr.
#
# If PODPATTERNS_E2E_ASSETS or KUBEBUILDER_ASSETS names a folder with prebuilt
# binaries, nothing is built and that folder is printed.
# See README.md next to this script.
set -euo pipefail

# ---- pinned versions --------------------------------------------------------
# Newest stable k8s.io/kubernetes release the module proxy serves whose `go`
# directive (1.26.0) this machine's Go 1.26 satisfies.
K8S_VERSION="${PODPATTERNS_K8S_VERSION:-1.37.1}"
# The etcd that this Kubernetes release pins (go.mod go.etcd.io/etcd/*, and
# kubeadm's DefaultEtcdVersion / build/dependencies.yaml).
ETCD_VERSION="${PODPATTERNS_ETCD_VERSION:-3.7.0}"
# Commit of the kubernetes v${K8S_VERSION} tag, for /version's gitCommit. The
# module proxy does not expose it; leave empty unless known.
K8S_GIT_COMMIT="${PODPATTERNS_K8S_GIT_COMMIT:-}"
# (The PODPATTERNS_* overrides are for trying another release, e.g.
# PODPATTERNS_K8S_VERSION=1.36.4 PODPATTERNS_ETCD_VERSION=3.6.8.)
# -----------------------------------------------------------------------------

log() { printf '[e2e-control-plane %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

have_binaries() { [[ -x "$1/kube-apiserver" && -x "$1/etcd" ]]; }

# 1. Prebuilt assets win: build nothing.
for var in PODPATTERNS_E2E_ASSETS KUBEBUILDER_ASSETS; do
  dir="${!var:-}"
  if [[ -n "$dir" ]]; then
    have_binaries "$dir" || die "$var=$dir has no executable kube-apiserver and etcd"
    log "using prebuilt binaries from $var=$dir"
    printf '%s\n' "$dir"
    exit 0
  fi
done

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../../.." && pwd)"
CACHE_DIR="${PODPATTERNS_E2E_CACHE:-$REPO_ROOT/.cache/e2e}"
BIN_DIR="$CACHE_DIR/bin"
WORK_DIR="$CACHE_DIR/work"
VERSIONS_FILE="$BIN_DIR/versions"

K8S_MINOR="${K8S_VERSION#*.}"; K8S_MINOR="${K8S_MINOR%%.*}"
STAGING_VERSION="v0.${K8S_VERSION#1.}" # k8s.io/api etc. are tagged v0.Y.Z for v1.Y.Z
EXPECTED_VERSIONS="kube-apiserver v${K8S_VERSION}
etcd v${ETCD_VERSION}"

# Whether $BIN_DIR/<name> exists and its own --version matches the pin.
# (Output is captured first: `cmd | grep -q` under pipefail fails when grep
# exits early and cmd dies of SIGPIPE.)
kube_apiserver_ok() {
  local out
  [[ -x "$BIN_DIR/kube-apiserver" ]] || return 1
  out="$("$BIN_DIR/kube-apiserver" --version 2>/dev/null)" || return 1
  [[ "$out" == "Kubernetes v${K8S_VERSION}" ]]
}
etcd_ok() {
  local out
  [[ -x "$BIN_DIR/etcd" ]] || return 1
  out="$("$BIN_DIR/etcd" --version 2>/dev/null)" || return 1
  [[ "$(head -n1 <<<"$out")" == "etcd Version: ${ETCD_VERSION}" ]]
}
up_to_date() {
  [[ -f "$VERSIONS_FILE" && "$(grep -v '^#' "$VERSIONS_FILE")" == "$EXPECTED_VERSIONS" ]] \
    && kube_apiserver_ok && etcd_ok
}

mkdir -p "$BIN_DIR" "$WORK_DIR"

# Serialise concurrent callers (e.g. parallel test workers).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_DIR/.build.lock"
  flock 9
fi

if up_to_date; then
  log "kube-apiserver v${K8S_VERSION} and etcd v${ETCD_VERSION} already built in $BIN_DIR"
  printf '%s\n' "$BIN_DIR"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "go is not on PATH"

# Never let go download another toolchain, never pick up a go.work, no VCS
# stamping (the work dir sits inside this git repo), and let go resolve and
# record the dependency graph in the generated go.mod/go.sum.
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0
export GOFLAGS="-mod=mod -buildvcs=false"

# Prints field $2 of `go mod download -json $1` (a module@version). Runs in /
# so that no go.mod or go.work around the caller's directory is involved.
mod_field() {
  local json
  if ! json="$(cd / && go mod download -json "$1" 2>&1)"; then
    printf '%s\n' "$json" >&2
    die "go mod download $1 failed"
  fi
  sed -n "s|^[[:space:]]*\"$2\": \"\\(.*\\)\",\{0,1\}\$|\\1|p" <<<"$json" | head -n1
}

# Prints the `go` and `godebug` lines (single or block form) of a go.mod.
go_and_godebug_lines() {
  awk '
    /^go [0-9]/ { print; next }
    /^godebug \(/ { inblock = 1; print; next }
    inblock { print; if ($0 ~ /^\)/) inblock = 0; next }
    /^godebug / { print }
  ' "$1"
}

now() { date +%s; }

# Runs "$@" with its (long) output in log file $1; shows it only on failure.
logged() {
  local logfile="$1"; shift
  if ! "$@" >"$logfile" 2>&1; then
    cat "$logfile" >&2
    die "failed: $* (log: $logfile)"
  fi
}

build_kube_apiserver() {
  local dir="$WORK_DIR/kube-apiserver" gomod start
  start=$(now)
  log "kube-apiserver v${K8S_VERSION}: generating wrapper module in $dir"
  rm -rf "$dir"; mkdir -p "$dir"

  gomod="$(mod_field "k8s.io/kubernetes@v${K8S_VERSION}" GoMod)"
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@v${K8S_VERSION}"

  {
    echo "// Generated by test/e2e/control-plane/build.sh; do not edit."
    echo "module podpatterns.local/e2e/kube-apiserver"
    echo
    go_and_godebug_lines "$gomod"
    echo
    echo "replace ("
    # k8s.io/kubernetes points its staging modules at ./staging/src/k8s.io/X,
    # which a dependency's replace cannot do: use their published v0 tags.
    # Other module-to-module replaces are copied; other local paths are fatal.
    awk -v sv="$STAGING_VERSION" '
      /^replace \(/ { inblock = 1; next }
      inblock && /^\)/ { inblock = 0; next }
      inblock || /^replace / {
        line = $0; sub(/^replace /, "", line); sub(/^[ \t]+/, "", line)
        if (line == "" || line ~ /^\/\//) next
        split(line, parts, /[ \t]*=>[ \t]*/)
        if (parts[2] ~ /^\.\/staging\/src\//) { printf "\t%s => %s %s\n", parts[1], parts[1], sv }
        else if (parts[2] ~ /^\.|^\//) { print "unsupported local replace: " line > "/dev/stderr"; exit 1 }
        else { printf "\t%s\n", line }
      }
    ' "$gomod"
    echo ")"
  } >"$dir/go.mod"

  (
    cd "$dir"
    log "kube-apiserver: resolving dependencies"
    logged go-get.log go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v${K8S_VERSION}"

    local build_date ld="-s -w" p
    if [[ -n "${SOURCE_DATE_EPOCH:-}" ]]; then
      build_date="$(date -u -d "@${SOURCE_DATE_EPOCH}" +%Y-%m-%dT%H:%M:%SZ)"
    else
      # The release's tag time (from the proxy's .info file) keeps the binary
      # reproducible; fall back to now.
      build_date="$(sed -n 's|.*"Time":"\([0-9T:-]*\)[^"]*".*|\1Z|p' "$(mod_field "k8s.io/kubernetes@v${K8S_VERSION}" Info)")"
      [[ "$build_date" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]] || build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    fi
    # Same variables as kubernetes hack/lib/version.sh (kube::version::ldflags).
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $p.gitVersion=v${K8S_VERSION} -X $p.gitMajor=1 -X $p.gitMinor=${K8S_MINOR}"
      ld+=" -X $p.gitCommit=${K8S_GIT_COMMIT} -X $p.gitTreeState=clean -X $p.buildDate=${build_date}"
    done
    log "kube-apiserver: compiling (cold: many minutes on 2 cores)"
    go build -trimpath -ldflags="$ld" -o "$BIN_DIR/.kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
  )
  mv -f "$BIN_DIR/.kube-apiserver.tmp" "$BIN_DIR/kube-apiserver"
  log "kube-apiserver: built in $(( $(now) - start ))s"
}

build_etcd() {
  local dir="$WORK_DIR/etcd" gomod start
  start=$(now)
  log "etcd v${ETCD_VERSION}: generating wrapper module in $dir"
  rm -rf "$dir"; mkdir -p "$dir"

  # go.etcd.io/etcd/server/v3 replaces its sibling modules with ../api etc.;
  # in a wrapper those replaces are ignored and the tagged versions are used.
  gomod="$(mod_field "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" GoMod)"
  [[ -f "$gomod" ]] || die "could not download go.etcd.io/etcd/server/v3@v${ETCD_VERSION}"
  {
    echo "// Generated by test/e2e/control-plane/build.sh; do not edit."
    echo "module podpatterns.local/e2e/etcd"
    echo
    go_and_godebug_lines "$gomod"
  } >"$dir/go.mod"

  (
    cd "$dir"
    log "etcd: resolving dependencies"
    logged go-get.log go get -tool "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}"
    log "etcd: compiling"
    go build -trimpath -ldflags="-s -w" -o "$BIN_DIR/.etcd.tmp" go.etcd.io/etcd/server/v3 >&2
  )
  mv -f "$BIN_DIR/.etcd.tmp" "$BIN_DIR/etcd"
  log "etcd: built in $(( $(now) - start ))s"
}

rm -f "$VERSIONS_FILE"
etcd_ok || build_etcd
kube_apiserver_ok || build_kube_apiserver
etcd_ok || die "built etcd does not report ${ETCD_VERSION} in --version"
kube_apiserver_ok || die "built kube-apiserver does not report v${K8S_VERSION} in --version"

{
  printf '%s\n' "$EXPECTED_VERSIONS"
  printf '# recorded %s; go on PATH: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(go env GOVERSION)"
} >"$VERSIONS_FILE"

log "done: $(tr '\n' ' ' <"$VERSIONS_FILE")"
printf '%s\n' "$BIN_DIR"
