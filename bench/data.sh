#!/bin/sh
# Data figures (issue 5): aica perms on a 200,000-file shared tree, steady state and after the whole tree's group
# went wrong, against the coreutils pipeline (chgrp -R G; chmod -R g+rwX; find -type d -exec chmod g+s {} +) on the
# same tree in the same run; aica data list against du -sb over each dataset. The tree lives in a tmpfs /data
# under a temporary --root inside a private mount namespace: the real / is not touched.
set -eu
AICA="$1"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_in_private_ns bash "$AICA"
bench_root data size=2g,nr_inodes=400k,mode=0755
"$AICA" --root "$R" init --gid 2500 -q >/dev/null
D="$R/data/dataset"

# 8 datasets x 50 x 10 directories x 50 files = 200,000 files (4,088 directories), a few bytes each, wrong modes.
for ds in 0 1 2 3 4 5 6 7; do
  mkdir -p "$D"/ds$ds/d{0..49}/e{0..9}
  (cd "$D/ds$ds" && touch d{0..49}/e{0..9}/f{0..49} && echo payload > d0/e0/f0)
done
chmod -R u+rw,go-w "$D"; chgrp -R 0 "$D"
files=$(find "$D" -type f | wc -l)

# One timing: "wall_ms cpu_ms" (cpu = user + sys of the command and its children; wall is what a user waits).
ms() {
  local TIMEFORMAT='%R %U %S' t
  t=$( { time "$@" >/dev/null 2>&1; } 2>&1 ) || true
  echo "$t" | awk '{ printf "%d:%d", $1 * 1000, ($2 + $3) * 1000 }'
}
# Median of three "wall:cpu" pairs, by wall time.
median3() { printf '%s\n' "$@" | sort -t: -n -k1,1 | sed -n 2p; }
wall() { echo "${1%%:*}"; }
cpu() { echo "${1##*:}"; }
peer() { chgrp -R 2500 "$D"; chmod -R g+rwX "$D"; find "$D" -type d -exec chmod g+s {} +; }
aica_perms() { "$AICA" --root "$R" perms -q /data/dataset; }
wrong() { chgrp -R 0 "$D"; }

# Wrong group: each run starts from a tree whose every entry has group root (reset not timed).
a=""; p=""
for i in 1 2 3; do
  wrong; a="$a $(ms aica_perms)"
  wrong; p="$p $(ms peer)"
done
aw=$(median3 $a); pw=$(median3 $p)
# Steady state: the tree is already right; both walk it all, aica only reads.
aica_perms >/dev/null
a=""; p=""
for i in 1 2 3; do a="$a $(ms aica_perms)"; p="$p $(ms peer)"; done
as=$(median3 $a); ps=$(median3 $p)
# data list vs du -sb over each dataset (page cache warm for both).
dul() { for d in "$D"/*/; do du -sb "$d"; done; }
al() { "$AICA" --root "$R" data list --json; }
a=""; p=""
for i in 1 2 3; do a="$a $(ms al)"; p="$p $(ms dul)"; done
al_=$(median3 $a); du_=$(median3 $p)

ratio() { awk "BEGIN { printf \"%.1f\", $1 / ($2 > 0 ? $2 : 1) }"; }
line() { # label aica peer peer-name goal
  printf '%-20s aica %5d ms (cpu %5d)   %s %5d ms (cpu %5d)   ratio %sx wall, %sx cpu   (goal >= %s)\n' \
    "$1" "$(wall "$2")" "$(cpu "$2")" "$4" "$(wall "$3")" "$(cpu "$3")" "$(ratio "$(wall "$3")" "$(wall "$2")")" "$(ratio "$(cpu "$3")" "$(cpu "$2")")" "$5"
}
echo "tree: $files files in 8 datasets, tmpfs, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg) (median of 3)"
line "perms, wrong group" "$aw" "$pw" "coreutils pipeline" "1.5x"
line "perms, steady state" "$as" "$ps" "coreutils pipeline" "3x"
line "data list" "$al_" "$du_" "du -sb per dataset" "1x"
