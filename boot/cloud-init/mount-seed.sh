# vmspec: mount this NoCloud seed (label CIDATA) read-only and run
# vmspec/run.sh from it. cloud-init runs this once per instance, from
# runcmd (see the comment above runcmd). On any failure it prints the
# VMSPEC-DONE line itself; power_state then powers the VM off.
seed=/run/vmspec/seed
say() {
  printf '%s\n' "$*" >&2
  printf '%s\n' "$*" > /dev/console 2>/dev/null
}
dev=
for label in CIDATA cidata; do
  if [ -e "/dev/disk/by-label/$label" ]; then
    dev=/dev/disk/by-label/$label
    break
  fi
done
if [ -z "$dev" ] && command -v blkid > /dev/null 2>&1; then
  dev=$(blkid -t LABEL=CIDATA -o device 2>/dev/null | head -n 1)
  [ -n "$dev" ] || dev=$(blkid -t LABEL=cidata -o device 2>/dev/null | head -n 1)
fi
if [ -z "$dev" ]; then
  say "vmspec: no filesystem labelled CIDATA (looked in /dev/disk/by-label and with blkid)"
elif ! mkdir -p "$seed" || ! mount -o ro "$dev" "$seed"; then
  say "vmspec: cannot mount the seed $dev read-only at $seed"
elif [ ! -r "$seed/vmspec/run.sh" ]; then
  say "vmspec: the seed $dev has no vmspec/run.sh"
else
  exec sh "$seed/vmspec/run.sh"
fi
say "VMSPEC-DONE rc=3"
exit 3
