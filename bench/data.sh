#!/bin/sh
# Data figures (issue 5): aica perms on a 200,000-file shared tree, steady state and after the whole tree's group
# went wrong, against the coreutils pipeline (chgrp -R G; chmod -R g+rwX; find -type d -exec chmod g+s {} +) on the
# same tree in the same run; aica data list against du -sb over each dataset. The tree lives in a tmpfs /data
# under a temporary --root inside a private mount namespace: the real / is not touched.
set -eu
AICA="$1"
if [ "${AICA_BENCH_INNER:-}" != 1 ]; then exec unshare -m --propagation private env AICA_BENCH_INNER=1 bash "$0" "$AICA"; fi
R=$(mktemp -d /tmp/aica-bench-data.XXXXXX); chmod 755 "$R"
trap 'umount "$R/data" 2>/dev/null; rm -rf --one-file-system "$R"' EXIT
mkdir -p "$R/etc" "$R/data" "$R/home" "$R/run" "$R/var/log"
printf 'root:x:0:0:root:/root:/bin/bash\n' > "$R/etc/passwd"; printf 'root:x:0:\n' > "$R/etc/group"
printf 'root:*:19000:0:99999:7:::\n' > "$R/etc/shadow"; printf 'root:*::\n' > "$R/etc/gshadow"; chmod 600 "$R/etc/shadow" "$R/etc/gshadow"
mount -t tmpfs -o size=2g,nr_inodes=400k,mode=0755 bench-data "$R/data"
"$AICA" --root "$R" init --gid 2500 -q
D="$R/data/dataset"

# 8 datasets x 50 x 10 directories x 50 files = 200,000 files (4,088 directories), a few bytes each, wrong modes.
for ds in 0 1 2 3 4 5 6 7; do
  mkdir -p "$D"/ds$ds/d{0..49}/e{0..9}
  (cd "$D/ds$ds" && touch d{0..49}/e{0..9}/f{0..49} && echo payload > d0/e0/f0)
done
chmod -R u+rw,go-w "$D"; chgrp -R 0 "$D"
files=$(find "$D" -type f | wc -l)

ms() { s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
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
aica_perms
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
echo "tree: $files files in 8 datasets, tmpfs, $(nproc) CPUs (median of 3)"
echo "perms, wrong group   aica ${aw} ms   coreutils pipeline ${pw} ms   ratio $(ratio "$pw" "$aw")x   (goal >= 1.5x)"
echo "perms, steady state  aica ${as} ms   coreutils pipeline ${ps} ms   ratio $(ratio "$ps" "$as")x   (goal >= 3x)"
echo "data list            aica ${al_} ms   du -sb per dataset ${du_} ms   ratio $(ratio "$du_" "$al_")x   (goal >= 1x)"
