#!/bin/sh
# Accounts figures (issue 11 points 3-4): recover after a full reset with 1000 registered users (passwords, a
# supplementary group, a lab group, all restored from the stored account state) against the same account work done
# with the groupadd + useradd loop recover ran before, measured in the same run; steady recover and doctor with 1000
# and with 50 users. Median of RUNS runs (the useradd loop: LOOP_RUNS). Runs in a private mount namespace with a
# tmpfs /data under a temporary --root; the real / is not touched.
set -eu
AICA="$1"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_in_private_ns sh "$AICA"
RUNS=${RUNS:-7}
LOOP_RUNS=${LOOP_RUNS:-1}
USERS=${USERS:-1000}
bench_tmp acct-out
HASH='$6$aicabench$0ZPz2mOL3kr3yJZ0nZbUVFsgOtJ9TT7Oyq7mYGrXUo0pWdRq/0M6S6dLQ1IZqXz1c4V3wT3mJhE7H7Wm0o3bC.'

# server N: a root with the image's account files, aica init, N registered users with passwords, half of them in
# video and in a lab group, the state captured. Sets R to the root.
server() {
  bench_root acct size=512m,mode=0755
  printf 'root:x:0:\nshadow:x:42:\nvideo:x:44:\n' > "$R/etc/group"; printf 'root:*::\nshadow:*::\nvideo:*::\n' > "$R/etc/gshadow"
  chgrp 42 "$R/etc/shadow" "$R/etc/gshadow"; chmod 640 "$R/etc/shadow" "$R/etc/gshadow"
  cp -a "$R/etc" "$R/etc.image"
  "$AICA" --root "$R" init --gid 2500 -q >/dev/null
  i=0
  while [ "$i" -lt "$1" ]; do
    n=$(printf 'user%04d' "$i"); id=$((3000 + i))
    echo "$n:gpu-users:$id:$id:/bin/bash:symlink" >> "$R/data/config/users.txt"
    i=$((i + 1))
  done
  "$AICA" --root "$R" recover -q >/dev/null
  # The passwords (chpasswd has no --prefix): the hash written into the sandbox's shadow.
  awk -F: -v OFS=: -v h="$HASH" '$1 ~ /^user[0-9]+$/ { $2 = h } { print }' "$R/etc/shadow" > "$T/shadow" && cat "$T/shadow" > "$R/etc/shadow"
  members=$(awk -F: '$1 ~ /^user[0-9]+$/ && $3 % 2 == 0 { printf "%s%s", sep, $1; sep = "," }' "$R/etc/passwd")
  groupadd -P "$R" -g 5100 -U "$members" labadmins
  sed -i "s/^video:x:44:\$/video:x:44:$members/" "$R/etc/group"
  "$AICA" --root "$R" accounts capture -q >/dev/null
  "$AICA" --root "$R" recover -q >/dev/null
}

server "$USERS"
RESET="rm -rf $R/etc $R/home/*; cp -a $R/etc.image $R/etc"
full=$(median_ms "$RUNS" "$RESET" "$AICA --root $R recover -q")
# Proof the full reset gave everything back: same account files as before the reset.
sh -c "$RESET"; "$AICA" --root "$R" recover -q >/dev/null
restored=$(awk -F: -v h="$HASH" '$2 == h' "$R/etc/shadow" | wc -l)
video=$(awk -F: '$1 == "video" { print split($4, m, ",") }' "$R/etc/group")
lab=$(awk -F: '$1 == "labadmins" && $3 == 5100 { print split($4, m, ",") }' "$R/etc/group")
# The account work as recover did it before (groupadd + USERS x (groupadd + useradd)), which restored no password,
# lab group or membership at all: the loop is the lower bound of the old way.
cat > "$T/loop.sh" <<EOS
groupadd -P $R -g 2500 gpu-users
i=0; while [ \$i -lt $USERS ]; do n=\$(printf 'user%04d' \$i); id=\$((3000 + i)); groupadd -P $R -g \$id \$n; useradd -P $R -u \$id -g \$id -s /bin/bash -d /home/\$n -M -N -G gpu-users \$n; i=\$((i + 1)); done
EOS
loop=$(median_ms "$LOOP_RUNS" "$RESET" "sh $T/loop.sh")
sh -c "$RESET"; "$AICA" --root "$R" recover -q >/dev/null
steady=$(median_ms "$RUNS" true "$AICA --root $R recover -q")
doctor=$(median_ms "$RUNS" true "$AICA --root $R doctor -q")
"$AICA" --root "$R" doctor -q >/dev/null || echo "warning: doctor did not pass on the $USERS-user server"

server 50; S=$R
steady50=$(median_ms "$RUNS" true "$AICA --root $S recover -q")
doctor50=$(median_ms "$RUNS" true "$AICA --root $S doctor -q")

echo "recover after full reset, $USERS users   median ${full} ms   useradd loop ${loop} ms   ratio $(awk "BEGIN{printf \"%.0f\", $loop/$full}")x (goal < 2000 ms)"
echo "  restored: $restored/$USERS password hashes, video $video members, labadmins (gid 5100) $lab members"
echo "recover, steady, $USERS users           median ${steady} ms   (goal < 100 ms)"
echo "doctor, healthy, $USERS users           median ${doctor} ms   (goal < 150 ms)"
echo "recover, steady, 50 users             median ${steady50} ms   (goal < 30 ms)"
echo "doctor, healthy, 50 users             median ${doctor50} ms   (goal < 50 ms)"
