#!/bin/sh
# Caches figures (issue 6), in one run on the same trees:
#  - `aica du --by-user` on a 200,000-file tree of 10 user dirs vs `du -sb` per user dir and vs `gdu --non-interactive`
#    (Debian package gdu; installed when missing, skipped with a note when it cannot be), medians and ratios;
#  - `aica clean --hf --dry-run` on a generated 50,000-file HuggingFace hub cache (250 repos, detached revisions).
# Everything lives in a tmpfs under a temporary --root inside a private mount namespace; the real / is not touched.
set -eu
AICA="$1"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_in_private_ns sh "$AICA"
RUNS=${AICA_BENCH_RUNS:-9}
bench_root caches size=2g,nr_inodes=1m,mode=0755
"$AICA" --root "$R" init --gid 2500 -q

if ! command -v gdu >/dev/null 2>&1; then
  (apt-get install -y -qq gdu >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq gdu; } >/dev/null 2>&1) || true
fi

echo "building the trees (tmpfs) ..."
python3 - "$R" <<'EOF'
import os, sys, random, time
root = sys.argv[1]
rnd = random.Random(6)
# 10 users x 20,000 files: 20 dirs x 10 subdirs x 100 files; one file in ten has 1-4 KiB of content, a few hard links.
users = os.path.join(root, "data/users")
for u in range(10):
    uid = 3000 + u
    base = os.path.join(users, f"user{u:02d}")
    for a in range(20):
        for b in range(10):
            d = os.path.join(base, f"d{a:02d}", f"s{b}")
            os.makedirs(d)
            for f in range(100):
                p = os.path.join(d, f"f{f:03d}.bin")
                with open(p, "wb") as fh:
                    if f % 10 == 0: fh.write(b"x" * rnd.randint(1024, 4096))
                os.lchown(p, uid, uid)
                if f == 99: os.link(p, os.path.join(d, "hardlink"))
            os.chown(d, uid, uid)
    for dirpath, dirnames, _ in os.walk(base):
        os.chown(dirpath, uid, uid)
# HF hub: 250 repos x (50 blobs + 3 revisions x 50 links) = 50,000 files; the oldest revision is detached.
hub = os.path.join(root, "data/models/huggingface/hub")
for r in range(250):
    repo = os.path.join(hub, f"models--org{r % 17}--model{r}")
    os.makedirs(os.path.join(repo, "blobs")); os.makedirs(os.path.join(repo, "refs"))
    blobs = ["%064x" % rnd.getrandbits(256) for _ in range(50)]
    for b in blobs:
        with open(os.path.join(repo, "blobs", b), "wb") as fh: fh.write(b"w" * rnd.randint(0, 512))
    for v in range(3):
        commit = "%040x" % rnd.getrandbits(160)
        snap = os.path.join(repo, "snapshots", commit)
        os.makedirs(os.path.join(snap, "sub"))
        for i in range(50):
            name = f"sub/file{i}.safetensors" if i % 5 == 0 else f"file{i}.json"
            up = "../../../" if "/" in name else "../../"
            os.symlink(up + "blobs/" + rnd.choice(blobs), os.path.join(snap, name))
        if v == 2:
            with open(os.path.join(repo, "refs", "main"), "w") as fh: fh.write(commit)
    # Settled two hours ago: younger detached revisions and blobs count as a download in progress and are kept.
    then = time.time() - 7200
    for dirpath, _, filenames in os.walk(repo):
        for f in filenames:
            os.utime(os.path.join(dirpath, f), (then, then), follow_symlinks=False)
        os.utime(dirpath, (then, then))
EOF
i=0
while [ $i -lt 10 ]; do
  echo "user$(printf %02d $i):gpu-users:$((3000 + i)):$((3000 + i)):/bin/bash:symlink" >> "$R/data/config/users.txt"
  printf 'user%02d:x:%d:%d::/home/user%02d:/bin/bash\n' $i $((3000 + i)) $((3000 + i)) $i >> "$R/etc/passwd"
  i=$((i + 1))
done
files=$(find "$R/data/users" -type f | wc -l); hubfiles=$(find "$R/data/models/huggingface/hub" ! -type d | wc -l)
echo "user tree: $files files in 10 user dirs; HF hub: $hubfiles files"

# Wall time in ms of one run of a shell command.
once_ms() { s=$(now); sh -c "$1" >/dev/null 2>&1 || true; e=$(now); echo $(( (e - s) / 1000 )); }
med() { sort -n "$1" | awk '{ a[NR] = $1 } END { printf "%.1f", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 1000 }'; }
# Median of RUNS runs of a shell command after a warm-up run (of an even count, the mean of the middle two).
warm_median_ms() { once_ms "$1" >/dev/null; : > "$R/t1"; n=0; while [ $n -lt "$RUNS" ]; do once_ms "$1" >> "$R/t1"; n=$((n + 1)); done; med "$R/t1"; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }

U="$R/data/users"
AICA_DU="$AICA --root $R du --by-user /data/users"
DU="for x in $U/*; do du -sb \$x; done"
GDU="gdu --non-interactive --no-progress $U"
have_gdu=0; command -v gdu >/dev/null 2>&1 && have_gdu=1
# The commands take turns, round after round, so a busy machine slows them alike; one warm-up round first.
: > "$R/ta"; : > "$R/td"; : > "$R/tg"
n=-1
while [ $n -lt "$RUNS" ]; do
  a=$(once_ms "$AICA_DU"); d=$(once_ms "$DU"); [ $have_gdu = 1 ] && g=$(once_ms "$GDU")
  if [ $n -ge 0 ]; then echo "$a" >> "$R/ta"; echo "$d" >> "$R/td"; [ $have_gdu = 1 ] && echo "$g" >> "$R/tg"; fi
  n=$((n + 1))
done
a=$(med "$R/ta"); d=$(med "$R/td")
echo "aica du --by-user (200k files)   median ${a} ms   ($RUNS runs, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
echo "du -sb per user dir              median ${d} ms   ratio du/aica = $(ratio "$d" "$a") (goal >= 1)"
if [ $have_gdu = 1 ]; then
  g=$(med "$R/tg")
  echo "gdu --non-interactive            median ${g} ms   ratio gdu/aica = $(ratio "$g" "$a")"
else
  echo "gdu: not installed and could not be installed here (apt-get install gdu): comparison skipped"
fi
a2=$(warm_median_ms "$AICA --root $R du")
echo "aica du (per-user overview, users + caches incl. the HF hub) median ${a2} ms"

h=$(warm_median_ms "$AICA --root $R clean --hf --dry-run -q")
echo "aica clean --hf --dry-run (${hubfiles} files, 250 repos) median ${h} ms"
"$AICA" --root "$R" clean --hf --dry-run | tail -1
# Sanity: the aica figures agree with du's.
"$AICA" --root "$R" du /data/users --json | python3 -c 'import json,sys; print("aica du total apparent bytes:", json.load(sys.stdin)["total"]["apparent_bytes"])'
echo "du -sb total apparent bytes:     $(du -sb "$U" | cut -f1)"
