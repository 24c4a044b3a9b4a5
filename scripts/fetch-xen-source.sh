#!/usr/bin/env bash
# Fetch and unpack Debian's `xen` source package (4.17.x) into a cache folder,
# using a deb-src list derived from this machine's own apt sources.
# Prints the path of the unpacked tree (the folder that holds xen/) on stdout.
#
#   scripts/fetch-xen-source.sh [CACHE_DIR]
#
# CACHE_DIR defaults to $XENPATCH_CACHE or ~/.cache/xenpatch.
set -euo pipefail

cache=${1:-${XENPATCH_CACHE:-$HOME/.cache/xenpatch}}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
tree="$cache/xen-src"

if [ -f "$tree/.complete" ]; then
    cat "$tree/.complete"
    exit 0
fi

apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives"
src_list="$apt_dir/deb-src.sources"

# Copy the machine's deb822 stanzas, turn them into deb-src, drop the
# security suite (its source files are not served).
sources=/etc/apt/sources.list.d/debian.sources
if [ ! -r "$sources" ]; then
    echo "fetch-xen-source: $sources: not readable; no Debian sources to derive a deb-src list from" >&2
    exit 1
fi
awk -v RS= -v ORS='\n\n' '
    /Suites:[^\n]*-security/ { next }
    { sub(/Types:[ \t]*deb\n/, "Types: deb-src\n"); print }
' "$sources" > "$src_list"
if ! grep -q '^Types: deb-src' "$src_list"; then
    echo "fetch-xen-source: $sources: no stanza with Types: deb" >&2
    exit 1
fi

apt_opts=(
    -o "Dir::Etc::SourceList=$src_list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache::Archives=$apt_dir/archives"
    -o "APT::Sandbox::User=root"
)
apt-get "${apt_opts[@]}" -qq update >&2
work="$cache/download"
rm -rf "$work"
mkdir -p "$work"
(cd "$work" && apt-get "${apt_opts[@]}" -qq source --download-only xen >&2)

orig=$(ls "$work"/xen_*.orig.tar.xz 2>/dev/null | head -n 1)
if [ -z "$orig" ]; then
    echo "fetch-xen-source: $work: apt-get source gave no .orig.tar.xz" >&2
    exit 1
fi
staging="$cache/xen-src.tmp"
rm -rf "$staging"
mkdir -p "$staging"
tar -xJf "$orig" -C "$staging"
top=$(find "$staging" -mindepth 1 -maxdepth 1 -type d | head -n 1)
if [ ! -d "$top/xen/common" ]; then
    echo "fetch-xen-source: $orig: no xen/common in the unpacked tree" >&2
    exit 1
fi
rm -rf "$tree"
mv "$staging" "$tree"
top="$tree/$(basename "$top")"
echo "$top" > "$tree/.complete"
echo "$top"
