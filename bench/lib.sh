# Shared by the bench scripts: sourced (`. "$(dirname "$0")/lib.sh"`), never run on its own (bench/run.sh skips it).
# POSIX sh. Everything a bench builds lives under temporary folders that are removed, and tmpfs mounts that are
# unmounted, when the script exits.
# shellcheck shell=sh

# bench_in_private_ns SHELL ARGS...: runs the calling script again (with SHELL: sh, or bash where it needs bash) in a
# private mount namespace, once, so its tmpfs mounts never reach the host's /.
bench_in_private_ns() {
  bench_shell=$1; shift
  [ "${AICA_BENCH_INNER:-}" = 1 ] || exec unshare -m --propagation private env AICA_BENCH_INNER=1 "$bench_shell" "$0" "$@"
}

BENCH_ROOTS=""
BENCH_DIRS=""
bench_cleanup() {
  for bench_r in $BENCH_ROOTS; do umount "$bench_r/data" 2>/dev/null || true; rm -rf --one-file-system "$bench_r"; done
  for bench_d in $BENCH_DIRS; do rm -rf "$bench_d"; done
}
trap bench_cleanup EXIT

# bench_tmp NAME: a temporary folder for the bench's own files (sets T).
bench_tmp() {
  T=$(mktemp -d "/tmp/aica-bench-$1.XXXXXX"); BENCH_DIRS="$BENCH_DIRS $T"
}

# bench_root NAME TMPFS_OPTIONS [DIR...]: an empty server under a temporary folder for --root (sets R): root's lines
# in /etc/passwd, group, shadow and gshadow, /home, /run, /var/log and the DIRs, and /data a tmpfs mounted with
# TMPFS_OPTIONS (e.g. size=1g,mode=0755). Not in a command substitution: R and the clean-up list must reach the caller.
bench_root() {
  bench_name=$1; bench_opts=$2; shift 2
  R=$(mktemp -d "/tmp/aica-bench-$bench_name.XXXXXX"); chmod 755 "$R"; BENCH_ROOTS="$BENCH_ROOTS $R"
  mkdir -p "$R/etc" "$R/data" "$R/home" "$R/run" "$R/var/log"
  for bench_d in "$@"; do mkdir -p "$R/$bench_d"; done
  printf 'root:x:0:0:root:/root:/bin/bash\n' > "$R/etc/passwd"; printf 'root:x:0:\n' > "$R/etc/group"
  printf 'root:*:19000:0:99999:7:::\n' > "$R/etc/shadow"; printf 'root:*::\n' > "$R/etc/gshadow"; chmod 600 "$R/etc/shadow" "$R/etc/gshadow"
  mount -t tmpfs -o "$bench_opts" "bench-$bench_name" "$R/data"
}

now() { date +%s%N; }

# median_ms RUNS PREPARE COMMAND: runs COMMAND RUNS times (the shell command PREPARE untimed before each), prints the
# median wall time in ms (of an even count, the lower middle one).
median_ms() {
  bench_n=$1; bench_prep=$2; shift 2; bench_k=0; bench_times=""
  while [ "$bench_k" -lt "$bench_n" ]; do
    sh -c "$bench_prep"; bench_t0=$(now); sh -c "$*" >/dev/null 2>&1 || true; bench_t1=$(now)
    bench_times="$bench_times $(( (bench_t1 - bench_t0) / 1000 ))"; bench_k=$((bench_k + 1))
  done
  # shellcheck disable=SC2086
  printf '%s\n' $bench_times | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
}

# mean N COMMAND...: mean wall time in ms of N runs of COMMAND (after one untimed warm-up run), measured around the
# whole loop.
mean() {
  bench_n=$1; shift
  "$@" > /dev/null 2>&1 || true
  bench_t0=$(now); bench_k=0
  while [ "$bench_k" -lt "$bench_n" ]; do "$@" > /dev/null 2>&1 || true; bench_k=$((bench_k + 1)); done
  bench_t1=$(now)
  awk "BEGIN{printf \"%.2f\", ($bench_t1 - $bench_t0) / $bench_n / 1000000}"
}
