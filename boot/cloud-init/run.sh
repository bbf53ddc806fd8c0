#!/bin/sh
# vmspec guest runner for cloud images (shipped on the NoCloud seed beside
# collect.sh): find the evidence disk by its header, collect the evidence
# with collect.sh, write the tar over that disk, print "VMSPEC-DONE rc=N" on
# the consoles and power off. Whatever fails, the line is printed and the
# machine still powers off: the host waits for both.
#
# Evidence disk protocol (boot/reference/evidence-disk.ts; the reference
# image's /init uses the same): the whole disk whose first sector starts
#   VMSPEC-EVIDENCE-DISK 1
#   phase=write|check   (optional; with nonce=N, 1-64 letters and digits)
#   nonce=N
# Unlike /init, a disk without that header is never written: a cloud image
# has disks of its own, and guessing could destroy one.
#
# Exit status (also the rc in VMSPEC-DONE): collect.sh's status (0 collected,
# 1 the bundle could not be written, 2 usage), or 2 a malformed header, 3 no
# evidence disk (the bundle then goes to the console as a base64 frame, as
# `collect.sh --console` prints it; 3 even when that worked, so the host
# knows the disk was not written), 4 no work directory, 124 the deadline
# passed (printed by the watchdog).
#
# Environment, for tests (each defaults to the real system):
#   VMSPEC_DEV           directory of block devices (/dev)
#   VMSPEC_SYS           sysfs (/sys): whole disks are listed in block/
#   VMSPEC_CONSOLES      files that get progress and the VMSPEC-DONE line
#                        (default /dev/console and every serial console
#                        listed in /proc/consoles)
#   VMSPEC_POWEROFF      command run instead of powering off
#   VMSPEC_COLLECT       the collector (collect.sh beside this script)
#   VMSPEC_COLLECT_ROOT  passed to the collector as --root
#   VMSPEC_DISK_WAIT     seconds to wait for the evidence disk (10)
#   VMSPEC_DEADLINE      seconds before the watchdog powers off (1200)

umask 022
LC_ALL=C
export LC_ALL
PATH=${PATH:+$PATH:}/usr/sbin:/usr/bin:/sbin:/bin
export PATH

MAGIC="VMSPEC-EVIDENCE-DISK 1"
dev_dir=${VMSPEC_DEV:-/dev}
sys_dir=${VMSPEC_SYS:-/sys}
here=$(cd "$(dirname "$0")" && pwd)
collector=${VMSPEC_COLLECT:-$here/collect.sh}
disk_wait=${VMSPEC_DISK_WAIT:-10}
deadline=${VMSPEC_DEADLINE:-1200}
case $disk_wait in ''|*[!0-9]*) disk_wait=10 ;; esac
case $deadline in ''|*[!0-9]*) deadline=1200 ;; esac

# Consoles: /dev/console reaches only the preferred console, so every serial
# console the kernel registered gets the lines too (ttyAMA0 for PL011 and
# SBSA UARTs, hvc0 under Xen without a vuart, ttyS0 elsewhere).
if [ -n "${VMSPEC_CONSOLES+set}" ]; then
  consoles=$VMSPEC_CONSOLES
else
  consoles=/dev/console
  if [ -r /proc/consoles ]; then
    while read -r c_name _; do
      case $c_name in
        tty[0-9]*|'') ;;
        *) [ -c "/dev/$c_name" ] && consoles="$consoles /dev/$c_name" ;;
      esac
    done < /proc/consoles
  fi
  # The PL011/SBSA UART the host reads, even when the image put its console elsewhere (console=tty0).
  case " $consoles " in
    *" /dev/ttyAMA0 "*) ;;
    *) [ -c /dev/ttyAMA0 ] && [ -w /dev/ttyAMA0 ] && consoles="$consoles /dev/ttyAMA0" ;;
  esac
fi

say() {
  printf 'vmspec-run: %s\n' "$*" >&2
  for s_c in $consoles; do
    printf 'vmspec-run: %s\n' "$*" >> "$s_c" 2>/dev/null
  done
}

done_line() {
  printf 'VMSPEC-DONE rc=%s\n' "$1" >&2
  for d_c in $consoles; do
    printf 'VMSPEC-DONE rc=%s\n' "$1" >> "$d_c" 2>/dev/null
  done
}

power_off() {
  if [ -n "${VMSPEC_POWEROFF:-}" ]; then
    sh -c "$VMSPEC_POWEROFF"
    return
  fi
  # Orderly first (systemd stops the services and unmounts); the kernel's
  # own power-off when that has not happened within a minute.
  poweroff 2>/dev/null || systemctl poweroff 2>/dev/null || shutdown -P now 2>/dev/null
  sleep 60
  echo o > /proc/sysrq-trigger
}

# finish MESSAGE RC: the only way out after the start.
finish() {
  say "$1"
  sync
  rm -f "$work/running"
  done_line "$2"
  rm -rf "$work"
  power_off
  exit "$2"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/vmspec-run.XXXXXX") || {
  say "cannot create a work directory under ${TMPDIR:-/tmp}"
  done_line 4
  power_off
  exit 4
}
: > "$work/running"

# Watchdog: a hung collector must not keep the VM up for ever. It polls a
# flag instead of sleeping once, so it ends within a second of the run.
(
  w_i=0
  while [ "$w_i" -lt "$deadline" ]; do
    sleep 1
    [ -e "$work/running" ] || exit 0
    w_i=$((w_i + 1))
  done
  say "collection still running after ${deadline}s: powering off"
  sync
  done_line 124
  power_off
) < /dev/null > /dev/null 2>&1 &

say "runner on $(uname -r 2>/dev/null), collector $collector"
[ -r "$collector" ] || finish "collector $collector is missing (the seed's vmspec/ folder is incomplete)" 2

# find_disk: print the first whole disk whose first bytes are the magic line.
find_disk() {
  for f_b in "$sys_dir"/block/*; do
    [ -e "$f_b" ] || continue
    f_name=${f_b##*/}
    case $f_name in
      loop*|ram*|zram*|sr*|fd*|md*|dm-*|nbd*) continue ;;
    esac
    f_dev=$dev_dir/$f_name
    [ -b "$f_dev" ] || [ -f "$f_dev" ] || continue
    if [ "$(head -c 22 "$f_dev" 2>/dev/null)" = "$MAGIC" ]; then
      printf '%s\n' "$f_dev"
      return 0
    fi
  done
  return 1
}

# Disks normally exist long before cloud-final; the wait covers slow hotplug.
disk=
i=0
while :; do
  disk=$(find_disk) && break
  [ "$i" -ge "$disk_wait" ] && break
  sleep 1
  i=$((i + 1))
done

if [ -z "$disk" ]; then
  say "no disk starts with \"$MAGIC\" (looked at $sys_dir/block): printing the bundle on the console instead"
  set -- --out "$work/evidence" --console
  if [ -n "${VMSPEC_COLLECT_ROOT:-}" ]; then set -- "$@" --root "$VMSPEC_COLLECT_ROOT"; fi
  # One console only: the frame is large, and a copy per console would
  # land twice in the same serial log.
  first=
  for c in $consoles; do first=$c; break; done
  if [ -n "$first" ]; then
    sh "$collector" "$@" >> "$first"
  else
    sh "$collector" "$@"
  fi
  finish "collect.sh exited $? (console frame); no evidence disk was written" 3
fi

# The header: phase and nonce, validated here so a damaged header is
# reported as such rather than as a collector usage error.
phase=
nonce=
head -c 512 "$disk" 2>/dev/null | tr -d '\000' > "$work/header"
n=0
while IFS= read -r line || [ -n "$line" ]; do
  n=$((n + 1))
  if [ "$n" -eq 1 ]; then
    [ "$line" = "$MAGIC" ] || finish "header of $disk: first line is not exactly \"$MAGIC\" (recreate the evidence disk)" 2
    continue
  fi
  case $line in
    phase=*) phase=${line#phase=} ;;
    nonce=*) nonce=${line#nonce=} ;;
    '') ;;
    *) say "ignoring header line $n of $disk: $line" ;;
  esac
done < "$work/header"

case $phase in
  ''|write|check) ;;
  *) finish "header of $disk: phase \"$phase\" must be write or check (recreate the evidence disk)" 2 ;;
esac
if [ -n "$phase" ] || [ -n "$nonce" ]; then
  [ -n "$phase" ] || finish "header of $disk: nonce without phase= (recreate the evidence disk)" 2
  case $nonce in
    ''|*[!A-Za-z0-9]*) finish "header of $disk: nonce \"$nonce\" must be 1-64 letters and digits (recreate the evidence disk)" 2 ;;
  esac
  [ "${#nonce}" -le 64 ] || finish "header of $disk: nonce is longer than 64 characters (recreate the evidence disk)" 2
fi

set -- --out "$work/evidence" --tar "$disk"
if [ -n "$phase" ]; then
  say "phase $phase nonce $nonce (from the header of $disk)"
  set -- "$@" --phase "$phase" --nonce "$nonce"
fi
if [ -n "${VMSPEC_COLLECT_ROOT:-}" ]; then
  set -- "$@" --root "$VMSPEC_COLLECT_ROOT"
fi
say "collecting evidence to $disk"
sh "$collector" "$@"
rc=$?
finish "collect.sh exited $rc" "$rc"
