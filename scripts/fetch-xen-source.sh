#!/usr/bin/env bash
# Fetch and unpack Debian's `xen` source package into a cache folder, using a
# deb-src list derived from this machine's own apt sources.  Prints the path
# of the unpacked tree (the folder that holds xen/) on stdout.
#
#   scripts/fetch-xen-source.sh [--suite SUITE] [CACHE_DIR]
#
# Without --suite the machine's own suites are used (bookworm: Xen 4.17).
# --suite trixie (Xen 4.20) rewrites the suite names of the machine's stanzas:
# `bookworm` -> `trixie`, `bookworm-updates` -> `trixie-updates`.  The
# security suite is always left out (its source files are not served).
# CACHE_DIR defaults to $XENPATCH_CACHE or ~/.cache/xenpatch; each suite has a
# tree of its own there (xen-src for the machine's suite, xen-src-SUITE else).
set -euo pipefail

suite=""
while [ $# -gt 0 ]; do
    case "$1" in
        --suite) suite=${2:?fetch-xen-source: --suite needs a name}; shift 2 ;;
        --suite=*) suite=${1#--suite=}; shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fetch-xen-source: $1: unknown option" >&2; exit 2 ;;
        *) break ;;
    esac
done
case "$suite" in
    ""|[a-z]*) ;;
    *) echo "fetch-xen-source: --suite $suite: not a suite name" >&2; exit 2 ;;
esac
case "$suite" in *[!a-z0-9-]*)
    echo "fetch-xen-source: --suite $suite: not a suite name" >&2; exit 2 ;;
esac

cache=${1:-${XENPATCH_CACHE:-$HOME/.cache/xenpatch}}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
tag=${suite:+-$suite}
tree="$cache/xen-src$tag"

if [ -f "$tree/.complete" ]; then
    cat "$tree/.complete"
    exit 0
fi

apt_dir="$cache/apt$tag"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives"
src_list="$apt_dir/deb-src.sources"

sources=/etc/apt/sources.list.d/debian.sources
if [ ! -r "$sources" ]; then
    echo "fetch-xen-source: $sources: not readable; no Debian sources to derive a deb-src list from" >&2
    exit 1
fi
# deb822 stanzas: keep those with Types: deb, turn them into deb-src, drop
# the security suite; with --suite, the first word of each suite name (the
# release's code name) becomes SUITE and its -updates/-backports tail stays.
awk -v RS= -v ORS='\n\n' -v suite="$suite" '
    /Suites:[^\n]*-security/ { next }
    !/(^|\n)Types:[ \t]*([^\n]* )?deb([ \t][^\n]*)?(\n|$)/ { next }
    {
        sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src")
        sub(/^\n/, "")
        if (suite != "") {
            n = split($0, lines, "\n"); out = ""
            for (i = 1; i <= n; i++) {
                if (lines[i] ~ /^Suites:/) {
                    m = split(substr(lines[i], 8), words, /[ \t]+/); s = "Suites:"
                    for (j = 1; j <= m; j++) {
                        if (words[j] == "") continue
                        w = words[j]; k = index(w, "-")
                        s = s " " (k ? suite substr(w, k) : suite)
                    }
                    lines[i] = s
                }
                out = out (i > 1 ? "\n" : "") lines[i]
            }
            $0 = out
        }
        print
    }
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
# A suite that is not the machine's own has no keyring trust issue (same
# archive key), but its Release file may be newer than the snapshot date.
apt-get "${apt_opts[@]}" -qq update >&2
work="$cache/download$tag"
rm -rf "$work"
mkdir -p "$work"
(cd "$work" && apt-get "${apt_opts[@]}" -qq source --download-only xen >&2)

orig=$(ls "$work"/xen_*.orig.tar.xz 2>/dev/null | head -n 1)
if [ -z "$orig" ]; then
    echo "fetch-xen-source: $work: apt-get source gave no .orig.tar.xz" >&2
    exit 1
fi
staging="$tree.tmp"
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
