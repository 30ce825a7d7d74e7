#!/bin/sh
# system-permissions.sh: compatibility wrapper for the bash-era script of the same name (kept for crontabs and habits).
# old: system-permissions.sh [GROUP]     now: aica perms [--dry-run] [PATH...]
# The group comes from /data/config/aica.toml now; a GROUP argument (a bare group name) is accepted and not passed on.
# Options go before the paths (aica perms takes every word after the first path as a path).
set -eu
# Under sudo the caller's environment never chooses the program that runs as root.
[ -z "${SUDO_UID:-}" ] || unset AICA_BIN
opts=""
n=$#
while [ "$n" -gt 0 ]; do
  a=$1; shift; n=$((n - 1))
  case $a in
    -h|--help) exec "${AICA_BIN:-/data/bin/aica}" perms --help ;;
    --dry-run|-q|-v|--json) opts="$opts $a" ;;
    -*) echo "system-permissions.sh: unknown option '$a' (now: aica perms [--dry-run] [PATH...])" >&2; exit 2 ;;
    *[!a-z0-9_-]*|[!a-z_]*) set -- "$@" "$a" ;;
    *) ;; # the legacy GROUP argument
  esac
done
# $opts holds only the fixed words above: split on purpose.
# shellcheck disable=SC2086
set -- $opts "$@"
exec "${AICA_BIN:-/data/bin/aica}" perms "$@"
