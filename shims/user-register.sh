#!/bin/sh
# user-register.sh: compatibility wrapper for the bash-era script of the same name (kept for crontabs and habits).
# aica user add creates the account (or adopts an existing one), sets up the home and registers the user in one step.
# old: user-register.sh USER [GROUP]
# now: aica user add USER [--group G] [--uid N] [--shell S] [--layout L] [--pubkey-file F] [--dry-run]
set -eu
# Under sudo the caller's environment never chooses the program that runs as root.
[ -z "${SUDO_UID:-}" ] || unset AICA_BIN
user=""
group=""
n=$#
while [ "$n" -gt 0 ]; do
  a=$1; shift; n=$((n - 1))
  case $a in
    -h|--help) exec "${AICA_BIN:-/data/bin/aica}" user add --help ;;
    --dry-run|-q|-v|--json) set -- "$@" "$a" ;;
    --group|--uid|--shell|--layout|--pubkey-file)
      if [ "$n" -eq 0 ]; then echo "user-register.sh: $a needs a value" >&2; exit 2; fi
      v=$1; shift; n=$((n - 1))
      if [ "$a" = --group ]; then group=$v; fi
      set -- "$@" "$a" "$v" ;;
    -*) echo "user-register.sh: unknown option '$a' (now: aica user add USER [--group G] ...)" >&2; exit 2 ;;
    *)
      if [ -z "$user" ]; then user=$a
      elif [ -z "$group" ]; then group=$a; set -- "$@" --group "$a"
      else echo "user-register.sh: unexpected argument '$a' (usage: user-register.sh USER [GROUP])" >&2; exit 2
      fi ;;
  esac
done
if [ -z "$user" ]; then echo "usage: user-register.sh USER [GROUP]   (now: aica user add USER [--group G])" >&2; exit 2; fi
exec "${AICA_BIN:-/data/bin/aica}" user add "$user" "$@"
