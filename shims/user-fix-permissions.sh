#!/bin/sh
# user-fix-permissions.sh: compatibility wrapper for the bash-era script of the same name (kept for crontabs and habits).
# old: user-fix-permissions.sh USER [GROUP]     now: aica user fix USER [--dry-run]
# The group comes from /data/config/aica.toml now; a GROUP argument is accepted and not passed on.
set -eu
# Under sudo the caller's environment never chooses the program that runs as root.
[ -z "${SUDO_UID:-}" ] || unset AICA_BIN
user=""
group=""
n=$#
while [ "$n" -gt 0 ]; do
  a=$1; shift; n=$((n - 1))
  case $a in
    -h|--help) exec "${AICA_BIN:-/data/bin/aica}" user fix --help ;;
    --dry-run|-q|-v|--json) set -- "$@" "$a" ;;
    -*) echo "user-fix-permissions.sh: unknown option '$a' (now: aica user fix USER [--dry-run])" >&2; exit 2 ;;
    *)
      if [ -z "$user" ]; then user=$a
      elif [ -z "$group" ]; then group=$a
      else echo "user-fix-permissions.sh: unexpected argument '$a' (usage: user-fix-permissions.sh USER [GROUP])" >&2; exit 2
      fi ;;
  esac
done
if [ -z "$user" ]; then echo "usage: user-fix-permissions.sh USER [GROUP]   (now: aica user fix USER)" >&2; exit 2; fi
exec "${AICA_BIN:-/data/bin/aica}" user fix "$user" "$@"
