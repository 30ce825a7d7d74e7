#!/bin/sh
# Fleet figures (issue 14): the timer's `aica sync` with nothing to do (1000 registered users, registry and account files
# unchanged since the last recover) against `true` (process start alone) and `getent passwd` (one small program reading
# the account database); and `aica fleet status` over 16 node files. Goals: sync < 10 ms, fleet status < 20 ms.
# Private mount namespace, tmpfs /data under a temporary --root; the real / is not touched.
set -eu
AICA="$1"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_in_private_ns sh "$AICA"
USERS=${USERS:-1000}
N=${N:-200}
bench_root fleet size=1g,mode=0755 var/lib
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

s=$(mean "$N" "$AICA" --root "$R" sync -q)
T=/bin/true
tb=$(mean "$N" "$T")
g=$(mean "$N" getent passwd)
f=$(mean 50 "$AICA" --root "$R" fleet status -q)
echo "aica sync, nothing to do, $USERS users   mean ${s} ms (goal < 10)   $T ${tb} ms   getent passwd ${g} ms   sync/true = $(awk "BEGIN{printf \"%.2f\", $s/$tb}")   sync/getent = $(awk "BEGIN{printf \"%.2f\", $s/$g}")"
echo "aica fleet status, 16 node files        mean ${f} ms (goal < 20)"
awk "BEGIN{exit !($s < 10 && $f < 20)}" || { echo "over goal"; exit 1; }
