#!/usr/bin/env bash
# Build the vCenter simulator launcher from Debian's govmomi sources.
#
# govmomi's files are never committed: they are copied from the Debian
# package into a build directory, our patches (patches/*.patch) are applied
# there, our own simulator files (simulator/*.go) are dropped into the copy's
# simulator package, and the launcher (launcher/) is built in GOPATH mode.
# The vim25 WSDL is generated beside the binary (wsdl/gen_wsdl.py).
#
# The result is cached by a hash of every input; prints the build directory.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
govmomi=${GOVMOMI_SRC:-/usr/share/gocode/src/github.com/vmware/govmomi}
gocode_root=${GOCODE_ROOT:-/usr/share/gocode}
python=${VCSIM_PYTHON:-python3}
cache_root=${VCSIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cinder-vmware-ext/vcsim}

for tool in go patch sha256sum; do
    command -v "$tool" >/dev/null || { echo "build.sh: '$tool' not found (run the README's set-up)" >&2; exit 1; }
done
[ -d "$govmomi/simulator" ] || { echo "build.sh: govmomi sources not found at $govmomi (apt-get install golang-github-vmware-govmomi-dev)" >&2; exit 1; }

# prepare_tree DIR: govmomi's sources with our patches and files in DIR.
prepare_tree() {
    local src=$1 p
    mkdir -p "$src"
    cp -r "$govmomi/." "$src/"
    chmod -R u+w "$src"
    for p in "$here"/patches/*.patch; do
        [ -e "$p" ] || continue
        patch -s -p1 -d "$src" < "$p" || { echo "build.sh: patch $(basename "$p") does not apply" >&2; exit 1; }
    done
    cp "$here"/simulator/*.go "$src/simulator/" 2>/dev/null || true
}

# build.sh --tree DIR only prepares the sources (go-test runs our Go tests there).
if [ "${1:-}" = --tree ]; then
    [ -n "${2:-}" ] || { echo "usage: build.sh --tree DIR" >&2; exit 2; }
    rm -rf "$2"
    prepare_tree "$2"
    exit 0
fi

xsd_dir=$("$python" -c 'import os, oslo_vmware; print(os.path.join(os.path.dirname(oslo_vmware.__file__), "wsdl", "7.0"))')

inputs_hash() {
    {
        (cd "$here" && find launcher simulator patches wsdl -type f \( -name '*.go' -o -name '*.patch' -o -name '*.py' \) 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum)
        sha256sum "$here/build.sh"
        go version
        dpkg-query -W -f='${Version}\n' golang-github-vmware-govmomi-dev 2>/dev/null || echo unknown-govmomi
        sha256sum "$xsd_dir"/vim-types.xsd
    } | sha256sum | cut -c1-16
}

hash=$(inputs_hash)
out="$cache_root/$hash"
if [ -x "$out/vcsim" ] && [ -d "$out/sdk" ]; then
    echo "$out"
    exit 0
fi

tmp=$(mktemp -d "$cache_root.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$cache_root"; mktemp -d "$cache_root/.tmp.XXXXXX"; })
trap 'rm -rf "$tmp"' EXIT
src="$tmp/gopath/src/github.com/vmware/govmomi"
mkdir -p "$tmp/gopath/src/cinder_vmware_ext"
prepare_tree "$src"
cp -r "$here/launcher" "$tmp/gopath/src/cinder_vmware_ext/vcsim"

(
    cd "$tmp/gopath/src/cinder_vmware_ext/vcsim"
    GO111MODULE=off GOPATH="$tmp/gopath:$gocode_root" \
        GOCACHE="${GOCACHE:-$cache_root/gocache}" go build -o "$tmp/vcsim" .
) >&2

mkdir -p "$tmp/sdk"
if [ -f "$here/wsdl/gen_wsdl.py" ]; then
    "$python" "$here/wsdl/gen_wsdl.py" --govmomi "$govmomi" --xsd-dir "$xsd_dir" --out "$tmp/sdk" >&2
else
    echo "build.sh: warning: wsdl/gen_wsdl.py missing, no WSDL will be served" >&2
fi

mkdir -p "$out"
mv "$tmp/vcsim" "$out/vcsim"
rm -rf "$out/sdk" && mv "$tmp/sdk" "$out/sdk"
echo "$out"
