#!/bin/sh
# Users figures (issue 3): aica user fix on a 200,000-file user tree against coreutils `chown -R U:G` + `chmod -R g+rwX`,
# measured in the same run: steady state (nothing wrong) and after the whole tree got the wrong group. Median of RUNS
# runs each. Runs in a private mount namespace with a tmpfs /data under a temporary --root; the real / is not touched.
set -eu
AICA="$1"
if [ "${AICA_BENCH_INNER:-}" != 1 ]; then exec unshare -m --propagation private env AICA_BENCH_INNER=1 sh "$0" "$AICA"; fi
RUNS=${RUNS:-5}
FILES=${FILES:-200000}
R=$(mktemp -d /tmp/aica-bench-users.XXXXXX); chmod 755 "$R"
trap 'umount "$R/data" 2>/dev/null; rm -rf --one-file-system "$R"' EXIT
mkdir -p "$R/etc" "$R/data" "$R/home" "$R/run" "$R/var/log"
printf 'root:x:0:0:root:/root:/bin/bash\n' > "$R/etc/passwd"; printf 'root:x:0:\n' > "$R/etc/group"
printf 'root:*:19000:0:99999:7:::\n' > "$R/etc/shadow"; printf 'root:*::\n' > "$R/etc/gshadow"; chmod 600 "$R/etc/shadow" "$R/etc/gshadow"
mount -t tmpfs -o size=2g,nr_inodes=1000000,mode=0755 bench-users "$R/data"
"$AICA" --root "$R" init --gid 2500 -q >/dev/null
"$AICA" --root "$R" user add benchu --uid 3001 -q >/dev/null
D="$R/data/users/benchu/tree"
mkdir "$D"
dirs=$((FILES / 1000)); i=0
while [ $i -lt $dirs ]; do
  mkdir "$D/d$i"; (cd "$D/d$i" && seq -f 'f%g' 0 999 | xargs touch); i=$((i + 1))
done
# The state both tools consider right: benchu:gpu-users, group rw, directories setgid.
chown -R 3001:2500 "$D"; chmod -R g+rwX "$D"; find "$D" -type d -exec chmod g+s {} +
"$AICA" --root "$R" user fix benchu -q >/dev/null || true

now() { date +%s%N; }
# median_ms PREPARE COMMAND: runs COMMAND RUNS times (PREPARE untimed before each), prints the median in ms
median_ms() {
  prep=$1; shift; k=0; : > "$R/times"
  while [ $k -lt "$RUNS" ]; do
    sh -c "$prep"; t0=$(now); sh -c "$*" >/dev/null 2>&1 || true; t1=$(now)
    echo $(( (t1 - t0) / 1000 )) >> "$R/times"; k=$((k + 1))
  done
  sort -n "$R/times" | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
}
AFIX="$AICA --root $R user fix benchu -q"
CORE="chown -R 3001:2500 $D && chmod -R g+rwX $D"
n=$(find "$R/data/users/benchu" | wc -l)
as=$(median_ms true "$AFIX"); cs=$(median_ms true "$CORE")
aw=$(median_ms "chgrp -R 3001 $D" "$AFIX"); cw=$(median_ms "chgrp -R 3001 $D" "$CORE")
echo "user fix, $n entries, steady state   aica ${as} ms   chown -R + chmod -R ${cs} ms   ratio $(awk "BEGIN{printf \"%.1f\", $cs/$as}")x (goal >= 2x)"
echo "user fix, $n entries, wrong group    aica ${aw} ms   chown -R + chmod -R ${cw} ms   ratio $(awk "BEGIN{printf \"%.1f\", $cw/$aw}")x"
