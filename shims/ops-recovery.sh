#!/bin/sh
# ops-recovery.sh: compatibility wrapper for the bash-era script of the same name (kept for crontabs and habits).
# old: ops-recovery.sh                 now: aica recover [--dry-run]
set -eu
# Under sudo the caller's environment never chooses the program that runs as root.
[ -z "${SUDO_UID:-}" ] || unset AICA_BIN
n=$#
while [ "$n" -gt 0 ]; do
  a=$1; shift; n=$((n - 1))
  case $a in
    -h|--help) exec "${AICA_BIN:-/data/bin/aica}" recover --help ;;
    --dry-run|-q|-v|--json) set -- "$@" "$a" ;;
    *) echo "ops-recovery.sh: unknown argument '$a' (now: aica recover [--dry-run])" >&2; exit 2 ;;
  esac
done
exec "${AICA_BIN:-/data/bin/aica}" recover "$@"
