#!/usr/bin/env bash
# Builds the command-line tools kudo's tests drive into tests/tools/bin/:
#   helm v3.22.0 (tests/helm.rs: lint, template, install of deploy/helm/kudo)
#   krew v0.4.3  (tests/krew.rs: install of the release archive)
# each from its Go module, pinned by helm/go.mod and krew/go.mod (with
# go.sum). They are two modules because their Kubernetes libraries are
# years apart and one build list would break krew. A tool already built
# from the current go.mod, go.sum and this script is not rebuilt, so a
# second run takes no time. Needs Go 1.26 and the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")"
bin="$PWD/bin"

export GOTOOLCHAIN=local CGO_ENABLED=0
if ! command -v go >/dev/null; then
  echo "tests/tools: the Go toolchain is missing; install Go 1.26 (helm and krew are built from their Go modules)" >&2
  exit 1
fi
case "$(go env GOVERSION)" in
  go1.26|go1.26.*) ;;
  *) echo "tests/tools: needs Go 1.26, found $(go env GOVERSION)" >&2; exit 1 ;;
esac
mkdir -p "$bin"

# build NAME PACKAGE LDFLAGS: builds $bin/NAME from the module in ./NAME.
build() {
  local name=$1 pkg=$2 ldflags=$3 out="$bin/$1"
  if [ -x "$out" ] && [ "$out" -nt "$name/go.mod" ] && [ "$out" -nt "$name/go.sum" ] && [ "$out" -nt build.sh ]; then
    echo "tests/tools: $out is up to date" >&2
    return
  fi
  local start
  start=$(date +%s)
  # Built to a temporary name first: an interrupted build never leaves a
  # half-written binary that the up-to-date check above would trust.
  (cd "$name" && go build -mod=readonly -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
  mv -f "$out.tmp" "$out"
  echo "tests/tools: built $out with $(go env GOVERSION) in $(( $(date +%s) - start ))s" >&2
}

build helm helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=v3.22.0 -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
build krew sigs.k8s.io/krew/cmd/krew "-X sigs.k8s.io/krew/internal/version.gitTag=v0.4.3"
