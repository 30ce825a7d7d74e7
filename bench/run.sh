#!/bin/sh
# make bench: runs every bench/*.sh (except this one and lib.sh, which the others source) with the binary under test as $1.
set -u
bin="$1"
dir=$(dirname "$0")
status=0
for b in "$dir"/*.sh; do
  case "$(basename "$b")" in run.sh|lib.sh) continue ;; esac
  echo "=== $(basename "$b" .sh)"
  sh "$b" "$bin" || status=1
done
exit $status
