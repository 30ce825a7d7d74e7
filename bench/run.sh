#!/bin/sh
# make bench: runs every bench/*.sh (except this one) with the binary under test as $1.
set -u
bin="$1"
dir=$(dirname "$0")
status=0
for b in "$dir"/*.sh; do
  [ "$(basename "$b")" = run.sh ] && continue
  echo "=== $(basename "$b" .sh)"
  sh "$b" "$bin" || status=1
done
exit $status
