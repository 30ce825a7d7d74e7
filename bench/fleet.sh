#!/bin/sh
# Fleet figures (issue 14): the timer's `aica sync` with nothing to do (1000 registered users, registry and account files
# unchanged since the last recover) against `true` (process start alone) and `getent passwd` (one small program reading
# the account database); and `aica fleet status` over 16 node files. Goals: sync < 10 ms, fleet status < 20 ms.
# Private mount namespace, tmpfs /data under a temporary --root; the real / is not touched.
set -eu
AICA="$1"
if [ "${AICA_BENCH_INNER:-}" != 1 ]; then exec unshare -m --propagation private env AICA_BENCH_INNER=1 sh "$0" "$AICA"; fi
USERS=${USERS:-1000}
N=${N:-200}
R=$(mktemp -d /tmp/aica-bench-fleet.XXXXXX); chmod 755 "$R"
trap 'umount "$R/data" 2>/dev/null; rm -rf --one-file-system "$R"' EXIT
mkdir -p "$R/etc" "$R/data" "$R/home" "$R/run" "$R/var/log" "$R/var/lib"
printf 'root:x:0:0:root:/root:/bin/bash\n' > "$R/etc/passwd"; printf 'root:x:0:\n' > "$R/etc/group"
printf 'root:*:19000:0:99999:7:::\n' > "$R/etc/shadow"; printf 'root:*::\n' > "$R/etc/gshadow"; chmod 600 "$R/etc/shadow" "$R/etc/gshadow"
mount -t tmpfs -o size=1g,mode=0755 bench-fleet "$R/data"
"$AICA" --root "$R" init --gid 2500 -q >/dev/null
i=0
while [ $i -lt "$USERS" ]; do echo "u$i:gpu-users:$((5000 + i)):$((5000 + i)):/bin/bash:symlink"; i=$((i + 1)); done >> "$R/data/config/users.txt"
"$AICA" --root "$R" recover -q >/dev/null || true   # creates the accounts and homes (batch), records the applied state
"$AICA" --root "$R" sync -q >/dev/null || true
test -f "$R/var/lib/aica/applied-generation" || { echo "no applied generation recorded"; exit 1; }
if "$AICA" --root "$R" sync --json | grep -q '"recovered": *true'; then echo "sync still has work: not a no-op bench"; exit 1; fi
j=0
while [ $j -lt 16 ]; do
  sed "s/\"host\": \"[^\"]*\"/\"host\": \"node$j\"/" "$R/data/admin/nodes/"*.json > "$R/data/admin/nodes/.n$j"
  j=$((j + 1))
done
rm -f "$R/data/admin/nodes/"*.json
j=0; while [ $j -lt 16 ]; do mv "$R/data/admin/nodes/.n$j" "$R/data/admin/nodes/node$j.json"; j=$((j + 1)); done

# Mean wall time of N runs (ms), around the whole loop.
mean() {
  n=$1; shift
  "$@" > /dev/null 2>&1 || true
  t0=$(date +%s%N); k=0
  while [ $k -lt "$n" ]; do "$@" > /dev/null 2>&1 || true; k=$((k + 1)); done
  t1=$(date +%s%N)
  awk "BEGIN{printf \"%.2f\", ($t1 - $t0) / $n / 1000000}"
}
s=$(mean "$N" "$AICA" --root "$R" sync -q)
T=/bin/true
tb=$(mean "$N" "$T")
g=$(mean "$N" getent passwd)
f=$(mean 50 "$AICA" --root "$R" fleet status -q)
echo "aica sync, nothing to do, $USERS users   mean ${s} ms (goal < 10)   $T ${tb} ms   getent passwd ${g} ms   sync/true = $(awk "BEGIN{printf \"%.2f\", $s/$tb}")   sync/getent = $(awk "BEGIN{printf \"%.2f\", $s/$g}")"
echo "aica fleet status, 16 node files        mean ${f} ms (goal < 20)"
awk "BEGIN{exit !($s < 10 && $f < 20)}" || { echo "over goal"; exit 1; }
