#!/bin/sh
# ops-clean-cache.sh: compatibility wrapper for the bash-era script of the same name (kept for crontabs and habits).
# old: ops-clean-cache.sh --all|--conda|--pip|--uv|--npm|--torch|--hf|--comfyui|--flux [--older-than DAYS] [--dry-run]
# now: aica clean (the same options)
set -eu
# Under sudo the caller's environment never chooses the program that runs as root.
[ -z "${SUDO_UID:-}" ] || unset AICA_BIN
n=$#
while [ "$n" -gt 0 ]; do
  a=$1; shift; n=$((n - 1))
  case $a in
    -h|--help) exec "${AICA_BIN:-/data/bin/aica}" clean --help ;;
    --all|--conda|--pip|--uv|--npm|--torch|--hf|--comfyui|--flux|--dry-run|--yes|-q|-v|--json) set -- "$@" "$a" ;;
    --older-than|--days)
      if [ "$n" -eq 0 ]; then echo "ops-clean-cache.sh: $a needs a number of days" >&2; exit 2; fi
      v=$1; shift; n=$((n - 1))
      set -- "$@" --older-than "$v" ;;
    --older-than=*) set -- "$@" --older-than "${a#--older-than=}" ;;
    *) echo "ops-clean-cache.sh: unknown argument '$a' (now: aica clean --all|--conda|--pip|--hf|... [--older-than DAYS] [--dry-run])" >&2; exit 2 ;;
  esac
done
exec "${AICA_BIN:-/data/bin/aica}" clean "$@"
