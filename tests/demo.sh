#!/bin/sh
# make demo: the main job on a sandbox server under a temporary folder, with --root. Never touches the real /.
# /data is a real tmpfs mounted inside a private mount namespace, so aica's mount check sees a mounted disk.
set -eu
AICA="$1"
if [ "${AICA_DEMO_INNER:-}" != 1 ]; then
  exec unshare -m --propagation private env AICA_DEMO_INNER=1 sh "$0" "$AICA"
fi
R=$(mktemp -d /tmp/aica-demo.XXXXXX)
chmod 755 "$R"
trap 'umount "$R/data" 2>/dev/null; rm -rf --one-file-system "$R"' EXIT
mkdir -p "$R/etc" "$R/data" "$R/home" "$R/run" "$R/var/log"
printf 'root:x:0:0:root:/root:/bin/bash\n' > "$R/etc/passwd"
printf 'root:x:0:\n' > "$R/etc/group"
printf 'root:*:19000:0:99999:7:::\n' > "$R/etc/shadow"
printf 'root:*::\n' > "$R/etc/gshadow"
chmod 600 "$R/etc/shadow" "$R/etc/gshadow"
mount -t tmpfs -o size=256m,mode=0755 demo-data "$R/data"
cp -a "$R/etc" "$R/etc.image"      # what a full reset returns /etc to

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
a() { step "aica --root \$SANDBOX $*"; "$AICA" --root "$R" "$@" || echo "(exit $?)"; }

echo "sandbox server: $R (a tmpfs on its /data; the real / is not touched)"
a init --gid 2500
a init
a user add alice --uid 3001
a user add bob --uid 3002 --layout hybrid
a user add alice --uid 3001
a user list
# A stand-in for the Miniconda installer (aica never downloads): same options, a conda that answers.
mkdir -p "$R/tmp" && cat > "$R/tmp/Miniconda3-demo-Linux-x86_64.sh" <<'EOF'
#!/bin/sh
[ "$1" = -b ] && [ "$2" = -p ] || exit 9
mkdir -p "$3/bin" "$3/etc/profile.d" "$3/condabin"
printf '#!/bin/sh\ncase "$1" in --version) echo "conda 24.9.2" ;; clean) echo "conda clean $*: nothing to remove" ;; esac\n' > "$3/bin/conda"
chmod 755 "$3/bin/conda"
EOF
a install miniconda --from "$R/tmp/Miniconda3-demo-Linux-x86_64.sh"
mkdir -p "$R/data/dataset/imagenet-mini" && echo pixels > "$R/data/dataset/imagenet-mini/x.bin" && chmod -R 700 "$R/data/dataset/imagenet-mini"
step "an admin upload with the wrong mode: $R/data/dataset/imagenet-mini (0700)"
a data fix
a data list
a perms --dry-run
a du --top 5
a clean --all --dry-run
a disk --threshold 95
echo "notes" > "$R/data/users/alice/notes.txt"
step "simulated reboot, home reset: rm -rf \$SANDBOX/home/*"
rm -rf "${R:?}/home/"*
a recover
ls -l "$R/home"
step "simulated reboot, full reset: /etc back to the image (accounts, group, sudoers, unit, cron gone)"
rm -rf "${R:?}/etc" "${R:?}/home/"*; cp -a "$R/etc.image" "$R/etc"
a recover --dry-run
a recover
grep -E '^(alice|bob):' "$R/etc/passwd"
a doctor
a recover
cat "$R/run/aica/recovery.json"
