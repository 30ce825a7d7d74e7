#!/bin/sh
# Integration figures (issue 4): `aica env` (a member's view, disk usage included) against `du -s` on the same
# 20 000-file home; `aica adopt` in steady state (nothing left to adopt) against `aica init` in steady state (the
# same engine without adopt's read-only scans). Private mount namespace, tmpfs /data under a temporary --root.
set -eu
AICA="$1"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_in_private_ns sh "$AICA"
bench_root integ size=512m,mode=0755 etc/profile.d etc/sudoers.d

# A bash-era server: group, one member with a two-field registry line, the old loader, group-writable /data.
groupadd -P "$R" -g 2000 gpu-users; groupadd -P "$R" -g 3001 alice
useradd -P "$R" -u 3001 -g 3001 -G gpu-users -s /bin/bash -d /home/alice -M alice
mkdir -p "$R/data/config" "$R/data/users/alice"; chmod 775 "$R/data"
printf 'alice:gpu-users\n' > "$R/data/config/users.txt"
echo '. /data/config/global_env.sh' > "$R/etc/profile.d/global_envs.sh"
ln -s /data/users/alice "$R/home/alice"
U="$R/data/users/alice"
d=0
while [ $d -lt 100 ]; do
  mkdir -p "$U/proj$d/bin"; f=0
  while [ $f -lt 200 ]; do printf '%0500d' "$f" > "$U/proj$d/file$f.txt"; f=$((f + 1)); done
  printf '#!/bin/sh\necho hi\n' > "$U/proj$d/bin/run"
  d=$((d + 1))
done
chown -R 3001:2000 "$U"; chmod 750 "$U"
"$AICA" --root "$R" adopt -q > /dev/null || true

AS="setpriv --reuid 3001 --regid 3001 --clear-groups"
# shellcheck disable=SC2086
e=$(mean 20 $AS "$AICA" --root "$R" env -q)
# shellcheck disable=SC2086
u=$(mean 20 $AS du -s -B1 "$U")
# shellcheck disable=SC2086
q=$(mean 50 $AS "$AICA" --root "$R" env -q --no-disk)
a=$(mean 30 "$AICA" --root "$R" adopt -q)
i=$(mean 30 "$AICA" --root "$R" init -q)
echo "aica env (20 100 files, with disk) mean ${e} ms   du -s -B1 ${u} ms   ratio du/aica = $(awk "BEGIN{printf \"%.2f\", $u/$e}")"
echo "aica env --no-disk                mean ${q} ms"
echo "aica adopt, steady state          mean ${a} ms   aica init, steady ${i} ms   adopt/init = $(awk "BEGIN{printf \"%.2f\", $a/$i}")"
