#!/bin/sh
# Prints the closing "N passed, N failed" line from a TRX file; exits non-zero on failures or a missing file.
trx="$1"
if [ ! -f "$trx" ]; then echo "0 passed, 1 failed"; echo "no test results at $trx" >&2; exit 1; fi
counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
passed=$(get passed); failed=$(get failed); total=$(get total); executed=$(get executed)
skipped=$(( ${total:-0} - ${executed:-0} ))
[ -n "$passed" ] || passed=0
[ -n "$failed" ] || failed=0
errors=$(get error); failed=$(( failed + ${errors:-0} ))
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
