#!/usr/bin/env bash
# Set up, then run the main job on the embedded default tree (fixtures/xen):
# lint it, convert its grant table lock into a percpu rwlock as a commit, and
# write the mailing-list series for that commit into out/series/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
xp=.venv/bin/xenpatch
out=${1:-out}
rm -rf "$out/tree" "$out/series"
mkdir -p "$out"
cp -r fixtures/xen "$out/tree"
git -C "$out/tree" init -q -b main
git -C "$out/tree" config user.name "Xen Developer"
git -C "$out/tree" config user.email "xen.developer@example.org"
git -C "$out/tree" add -A
git -C "$out/tree" commit -q -m "Import the fixture tree"
base=$(git -C "$out/tree" rev-parse HEAD)

echo "== lint (before the conversion)"
$xp lint "$out/tree/xen" || true
echo "== rewrite --commit"
$xp rewrite --rule rules/grant_table.toml --commit "$out/tree"
echo "== lint (after)"
$xp lint "$out/tree/xen" || true
echo "== series"
printf '%s\n\n%s\n' "Convert the grant table lock into a percpu rwlock" \
    "The grant table's shared reader count is a cache-line bottleneck for
multi-queue I/O; a percpu rwlock keeps readers on their own CPU." > "$out/cover.txt"
$xp series "$base..HEAD" --repo "$out/tree" --version 1 --out "$out/series" \
    --cover "$out/cover.txt"
echo "== series --check (git am onto the base, lint, compare trees)"
$xp series "$base..HEAD" --repo "$out/tree" --version 1 --check --out "$out/series"
echo "The series is in $out/series/, ready for git send-email:"
ls -1 "$out/series"
