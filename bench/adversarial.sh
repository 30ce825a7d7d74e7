#!/bin/sh
# Adversarial inputs (issue 10, SPEC §6.10): what one member can plant, at the sizes of the findings, each shown bounded
# in time and memory (GNU time: elapsed s, max RSS) and in output size. One line per case. Runs in a private mount
# namespace with a tmpfs /data under a temporary --root; the real / is not touched. Sizes can be lowered with
# MARKERS, LINKS, KEYS, DATASETS (e.g. for a quick look).
set -eu
AICA="$1"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_in_private_ns sh "$AICA"
MARKERS=${MARKERS:-300000}
LINKS=${LINKS:-1000000}
KEYS=${KEYS:-20000}
DATASETS=${DATASETS:-9000}
bench_root adv size=6g,nr_inodes=3000000,mode=0755 out
"$AICA" --root "$R" init --gid 2500 -q >/dev/null
for u in mallory:3001:symlink hybrid:3002:hybrid alice:3003:symlink; do
  n=${u%%:*}; rest=${u#*:}; id=${rest%%:*}; layout=${rest#*:}
  groupadd -P "$R" -g "$id" "$n"; useradd -P "$R" -u "$id" -g "$id" -G gpu-users -s /bin/bash -d "/home/$n" -M "$n"
  echo "$n:gpu-users:$id:$id:/bin/bash:$layout" >> "$R/data/config/users.txt"
done
"$AICA" --root "$R" recover -q >/dev/null

# run NAME ENV... -- ARGS: aica --root R ARGS under GNU time; prints "NAME  x.xx s  NNN MiB RSS  NNN bytes out  exit N"
run() {
  name=$1; shift; envs=""
  while [ "$1" != "--" ]; do envs="$envs $1"; shift; done; shift
  rc=0
  env $envs /usr/bin/time -f '%e %M' -o "$R/out/time" "$AICA" --root "$R" "$@" > "$R/out/stdout" 2> "$R/out/stderr" || rc=$?
  set -- $(cat "$R/out/time" | tail -1)
  bytes=$(wc -c < "$R/out/stdout")
  longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$R/out/stdout")
  printf '%-58s %7s s %6d MiB RSS %9d B out (longest line %d)  exit %d\n' "$name" "$1" $(( $2 / 1024 )) "$bytes" "$longest" "$rc"
}
home_reset() { rm -rf --one-file-system "$R/home/"*; }

# 1. Begin markers with no end in a member's rc file (finding 2: 300,000 lines kept recover busy past the 600 s timeout).
perl -e "print \"# >>> aica >>>\n\" x $MARKERS" > "$R/data/users/mallory/.zprofile"
home_reset
run "recover, $MARKERS begin markers in .zprofile" -- recover
run "recover again (steady state)" -- recover
run "doctor, $MARKERS begin markers" -- doctor --user mallory
# ... and an rc file at the 64 MiB read cap, then past it.
yes '# >>> aica >>>' | head -c $((64 << 20)) > "$R/data/users/mallory/.zprofile"
run "recover, .zprofile at the 64 MiB cap" -- recover
run "recover, .zprofile just past the cap (reported, not read)" -- recover
rm -f "$R/data/users/mallory/.zprofile"

# 2. Planted links at the top of a home (finding 4: a 50 MB output line, a 50 MB recovery.json, doctor 935 MB).
(cd "$R/data/users/mallory" && perl -e "symlink('/etc/shadow', \"l\$_\") or die for 1..$LINKS")
run "recover, $LINKS planted links" -- recover
echo "    recovery.json $(wc -c < "$R/run/aica/recovery.json") bytes"
run "recover --json, $LINKS planted links" -- --json recover
run "doctor --json, $LINKS planted links" -- --json doctor --user mallory
# 3. The same home against the per-user budget (a stand-in for ten million entries): mallory fails, the others recover.
home_reset
run "recover, $LINKS entries, budget 0.2 s per user" AICA_RECOVER_USER_BUDGET_S=0.2 -- recover
grep -o 'recovered [0-9]* users, [0-9]* failed' "$R/out/stdout" | sed 's/^/    /'
(cd "$R/data/users/mallory" && find . -maxdepth 1 -name 'l*' -delete)

# 4. authorized_keys of a hybrid member's SSD copy merged into the persistent one (finding 4: 20,000 lines, 35 s).
perl -e "printf(\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%012dkey k%d\n\", \$_, \$_) for 0..($KEYS/2-1)" > "$R/data/users/hybrid/dotfiles/.ssh/authorized_keys"
rm -f "$R/home/hybrid/.ssh"; mkdir "$R/home/hybrid/.ssh"
perl -e "printf(\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%012dkey k%d\n\", \$_, \$_) for ($KEYS/4)..($KEYS/4+$KEYS-1)" > "$R/home/hybrid/.ssh/authorized_keys"
run "recover, $KEYS authorized_keys lines merged" -- recover
echo "    persistent authorized_keys: $(wc -l < "$R/data/users/hybrid/dotfiles/.ssh/authorized_keys") lines"

# 5. Datasets with long names (finding 4: 9,000 names of 250 characters: every access check failed with E2BIG).
(cd "$R/data/dataset" && perl -e "mkdir(sprintf('%05d-%s', \$_, 'x' x 244)) or die for 1..$DATASETS")
run "data verify --user alice, $DATASETS datasets, 250-char names" -- data verify --user alice
tail -1 "$R/out/stdout" | sed 's/^/    /'
