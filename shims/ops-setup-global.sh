#!/bin/sh
# ops-setup-global.sh: compatibility wrapper for the bash-era script of the same name (kept for crontabs and habits).
# old: ops-setup-global.sh [GROUP]     now: aica init [--group G] [--dry-run]
set -eu
# Under sudo the caller's environment never chooses the program that runs as root.
[ -z "${SUDO_UID:-}" ] || unset AICA_BIN
group=""
n=$#
while [ "$n" -gt 0 ]; do
  a=$1; shift; n=$((n - 1))
  case $a in
    -h|--help) exec "${AICA_BIN:-/data/bin/aica}" init --help ;;
    --dry-run|-q|-v|--json) set -- "$@" "$a" ;;
    -*) echo "ops-setup-global.sh: unknown option '$a' (now: aica init [--group G] [--dry-run])" >&2; exit 2 ;;
    *)
      if [ -n "$group" ]; then echo "ops-setup-global.sh: one group only (got '$group' and '$a')" >&2; exit 2; fi
      group=$a; set -- "$@" --group "$a" ;;
  esac
done
exec "${AICA_BIN:-/data/bin/aica}" init "$@"
