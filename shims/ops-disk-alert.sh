#!/bin/sh
# ops-disk-alert.sh: compatibility wrapper for the bash-era script of the same name (kept for crontabs and habits).
# old: ops-disk-alert.sh [--threshold PCT] [--dry-run]     now: aica disk [--threshold PCT] [--dry-run]
set -eu
# Under sudo the caller's environment never chooses the program that runs as root.
[ -z "${SUDO_UID:-}" ] || unset AICA_BIN
n=$#
while [ "$n" -gt 0 ]; do
  a=$1; shift; n=$((n - 1))
  case $a in
    -h|--help) exec "${AICA_BIN:-/data/bin/aica}" disk --help ;;
    --dry-run|-q|-v|--json) set -- "$@" "$a" ;;
    --threshold|-t)
      if [ "$n" -eq 0 ]; then echo "ops-disk-alert.sh: $a needs a percentage" >&2; exit 2; fi
      v=$1; shift; n=$((n - 1))
      set -- "$@" --threshold "$v" ;;
    --threshold=*) set -- "$@" --threshold "${a#--threshold=}" ;;
    *) echo "ops-disk-alert.sh: unknown argument '$a' (now: aica disk [--threshold PCT] [--dry-run])" >&2; exit 2 ;;
  esac
done
exec "${AICA_BIN:-/data/bin/aica}" disk "$@"
