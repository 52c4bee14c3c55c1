#!/usr/bin/env bash
# Builds kudo-testenv, the real control plane kudo's end-to-end tests run on,
# into tests/testenv/bin/ (or $1). Needs Go 1.26 and the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-$PWD/bin/kudo-testenv}"

# Kubernetes v1.36 is built and tested with Go 1.26; a Go 1.27 build was seen
# serving malformed OpenAPI v2. GOTOOLCHAIN=local keeps the go command from
# switching to another toolchain behind our back.
export GOTOOLCHAIN=local CGO_ENABLED=0
if ! command -v go >/dev/null; then
  echo "kudo-testenv: the Go toolchain is missing; install Go 1.26 (the real control plane is built from Kubernetes' Go modules)" >&2
  exit 1
fi
case "$(go env GOVERSION)" in
  go1.26|go1.26.*) ;;
  *) echo "kudo-testenv: needs Go 1.26, found $(go env GOVERSION)" >&2; exit 1 ;;
esac

k8s=v1.36.3
minor=${k8s#v1.}; minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w"
ldflags+=" -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=2026-11-01T00:00:00Z"
ldflags+=" -X $pkg.gitCommit=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s"

start=$(date +%s)
go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$out" .
echo "kudo-testenv: built $out with $(go env GOVERSION) in $(( $(date +%s) - start ))s" >&2
