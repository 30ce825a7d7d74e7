#!/bin/sh
# Users figures (issue 3): aica user fix on a 200,000-file user tree against coreutils `chown -R U:G` + `chmod -R g+rwX`,
# measured in the same run: steady state (nothing wrong) and after the whole tree got the wrong group. Median of RUNS
# runs each. Runs in a private mount namespace with a tmpfs /data under a temporary --root; the real / is not touched.
set -eu
AICA="$1"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_in_private_ns sh "$AICA"
RUNS=${RUNS:-5}
FILES=${FILES:-200000}
bench_root users size=2g,nr_inodes=1000000,mode=0755
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

AFIX="$AICA --root $R user fix benchu -q"
CORE="chown -R 3001:2500 $D && chmod -R g+rwX $D"
n=$(find "$R/data/users/benchu" | wc -l)
as=$(median_ms "$RUNS" true "$AFIX"); cs=$(median_ms "$RUNS" true "$CORE")
aw=$(median_ms "$RUNS" "chgrp -R 3001 $D" "$AFIX"); cw=$(median_ms "$RUNS" "chgrp -R 3001 $D" "$CORE")
echo "user fix, $n entries, steady state   aica ${as} ms   chown -R + chmod -R ${cs} ms   ratio $(awk "BEGIN{printf \"%.1f\", $cs/$as}")x (goal >= 2x)"
echo "user fix, $n entries, wrong group    aica ${aw} ms   chown -R + chmod -R ${cw} ms   ratio $(awk "BEGIN{printf \"%.1f\", $cw/$aw}")x"
