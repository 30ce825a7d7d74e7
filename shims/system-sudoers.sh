#!/bin/sh
# system-sudoers.sh: compatibility wrapper for the bash-era script of the same name (kept for crontabs and habits).
# aica generates /etc/sudoers.d/aica (validated with visudo) as part of its desired state: `aica init` writes it.
# old: system-sudoers.sh [GROUP]       now: aica init [--group G] [--dry-run]
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
    -*) echo "system-sudoers.sh: unknown option '$a' (now: aica init [--group G] [--dry-run])" >&2; exit 2 ;;
    *)
      if [ -n "$group" ]; then echo "system-sudoers.sh: one group only (got '$group' and '$a')" >&2; exit 2; fi
      group=$a; set -- "$@" --group "$a" ;;
  esac
done
exec "${AICA_BIN:-/data/bin/aica}" init "$@"
