#!/bin/sh
# Stand-in for Slurm's scontrol in the health tests: appends each call (one line, arguments joined by |) to "calls"
# beside itself, answers "show node NAME" from the "node" file there and applies "update" to it like slurmctld does.
here=$(dirname "$0")
(IFS='|'; printf '%s\n' "$*") >> "$here/calls"
state=$(sed -n 's/^ *State=\([^ ]*\).*/\1/p' "$here/node" 2>/dev/null)
write() {
  printf 'NodeName=%s Arch=x86_64 CoresPerSocket=8\n   State=%s ThreadsPerCore=2 TmpDisk=0 Weight=1\n' "$1" "$2" > "$here/node"
  [ -n "$3" ] && printf '   Reason=%s\n' "$3" >> "$here/node"
  return 0
}
case "$1" in
  show)
    [ -f "$here/node" ] || { echo "Node $3 not found" >&2; exit 1; }
    cat "$here/node" ;;
  update)
    node=${2#nodename=}
    case "$3" in
      state=drain) write "$node" "${state%%+*}+DRAIN" "${4#reason=} [root@2026-12-03T10:00:00]" ;;
      state=resume) write "$node" "${state%%+*}" "" ;;
      *) echo "unsupported: $*" >&2; exit 1 ;;
    esac ;;
  *) echo "unsupported: $*" >&2; exit 1 ;;
esac
