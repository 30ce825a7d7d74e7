#!/bin/sh
# Foundation figures (issue 2): aica --version vs /bin/true; recover steady state and after a full reset with 50 users
# (with the share spent in groupadd/useradd); doctor on a healthy 50-user server. Runs in a private mount namespace
# with a tmpfs /data under a temporary --root; the real / is not touched.
set -eu
AICA="$1"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_in_private_ns sh "$AICA"
bench_root foundation size=256m,mode=0755
bench_tmp foundation-out
cp -a "$R/etc" "$R/etc.image"
"$AICA" --root "$R" init --gid 2500 -q
cp -a "$R/etc" "$R/etc.init"
i=0
while [ $i -lt 50 ]; do
  n=$(printf 'user%02d' $i); id=$((3000 + i))
  echo "$n:gpu-users:$id:$id:/bin/bash:symlink" >> "$R/data/config/users.txt"
  i=$((i + 1))
done
"$AICA" --root "$R" recover -q
median() { awk -F, 'NR==2 { printf "%.2f", $4 * 1000 }' "$1"; }
hf() { out=$1; shift; hyperfine -N --style none --warmup 3 "$@" --export-csv "$out" >/dev/null 2>&1; }

hf "$T/true.csv" --runs 300 /bin/true
hf "$T/version.csv" --runs 300 "$AICA --version"
hf "$T/steady.csv" --runs 100 "$AICA --root $R recover -q"
hf "$T/doctor.csv" --runs 50 "$AICA --root $R doctor -q"
# Full reset: /etc back to the image (no group, no accounts), homes gone; then recover.
hyperfine --style none --runs 5 --prepare "rm -rf $R/etc $R/home/*; cp -a $R/etc.image $R/etc" "$AICA --root $R recover -q" --export-csv "$T/full.csv" >/dev/null 2>&1
# The same account work alone: groupadd + 50 x (groupadd + useradd), as recover runs them.
cat > "$T/accounts.sh" <<EOS
rm -rf $R/etc; cp -a $R/etc.image $R/etc
groupadd -P $R -g 2500 gpu-users
i=0; while [ \$i -lt 50 ]; do n=\$(printf 'user%02d' \$i); id=\$((3000 + i)); groupadd -P $R -g \$id \$n; useradd -P $R -u \$id -g \$id -s /bin/bash -d /home/\$n -M -N -G gpu-users \$n; i=\$((i + 1)); done
EOS
hyperfine --style none --runs 5 "sh $T/accounts.sh" --export-csv "$T/accounts.csv" >/dev/null 2>&1
rm -rf "$R/etc"; cp -a "$R/etc.init" "$R/etc"; "$AICA" --root "$R" recover -q

t=$(median "$T/true.csv"); v=$(median "$T/version.csv"); s=$(median "$T/steady.csv"); d=$(median "$T/doctor.csv")
f=$(median "$T/full.csv"); u=$(median "$T/accounts.csv")
echo "aica --version            median ${v} ms   (/bin/true ${t} ms; goal < 5 ms)"
echo "recover, steady, 50 users median ${s} ms   (goal < 30 ms)"
echo "doctor, healthy, 50 users median ${d} ms   (goal < 50 ms)"
echo "recover after full reset  median ${f} ms   (of which groupadd/useradd alone: ${u} ms = $(awk "BEGIN{printf \"%.0f\", 100*$u/$f}")%)"
