#!/bin/sh
# vmspec reference image /init (busybox): load the drivers the Debian kernel
# has as modules, collect evidence with collect.sh, write it as a tar to the
# evidence disk, power off. Nothing here is interactive; every failure is
# reported on the console and the machine still powers off.
#
# The boot driver chooses the persistence phase WITHOUT rebuilding the image,
# through the first of these that is set:
#   1. kernel command line: vmspec.phase=write|check vmspec.nonce=N
#   2. QEMU fw_cfg: -fw_cfg name=opt/vmspec/phase,string=write
#                   -fw_cfg name=opt/vmspec/nonce,string=N
#   3. the evidence disk's first sector (any hypervisor), text:
#        VMSPEC-EVIDENCE-DISK 1
#        phase=write
#        nonce=N
#        end=reset          (optional)
# With end=reset in that header, init ends the boot with a reset (reboot(2),
# which Linux carries out with PSCI SYSTEM_RESET) instead of a power-off: the
# host watches the VM start again (boot/reset-watch.ts).
# The evidence disk is the virtio (or, under Xen, PV: xvd*) disk whose first
# sector starts with that magic line (else /dev/vdb if it carries no GPT);
# the tar overwrites it.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /run
/bin/busybox --install -s
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp

# The host judges the hypervisor's UART from its serial log, whatever
# console the guest chose: with the console elsewhere (console=tty0), init's
# lines are also written to the first PL011/SBSA UART itself.
# /dev/console is the preferred console, flagged C in /proc/consoles.
uart=
console_dev=$(sed -n 's/^\([^ ]*\) .*(\([^)]*C[^)]*\)).*/\1/p' /proc/consoles 2>/dev/null | head -n 1)
case $console_dev in
  ttyAMA*) ;;
  *) if [ -c /dev/ttyAMA0 ]; then uart=/dev/ttyAMA0; fi ;;
esac

# out LINE: on the console, and on the UART when the console is not on it.
out() {
  echo "$1"
  if [ -n "$uart" ]; then echo "$1" > "$uart" 2>/dev/null; fi
}

say() {
  out "vmspec-init: $*"
}

finish() {
  say "$1"
  if [ "$end" = reset ]; then
    # The host's marker (boot/reset-watch.ts RESET_REQUEST_LINE): printed before VMSPEC-DONE.
    out "vmspec-init: requesting a reset (PSCI SYSTEM_RESET)"
    out "VMSPEC-DONE rc=$2"
    sync
    reboot -f
    sleep 10
    say "the reset did not happen"
  else
    out "VMSPEC-DONE rc=$2"
  fi
  sync
  echo o > /proc/sysrq-trigger
  sleep 10
  poweroff -f
}

say "kernel $(uname -r), $(cut -d' ' -f1 /proc/uptime)s since boot"

kver=$(uname -r)
while IFS= read -r mod; do
  [ -n "$mod" ] || continue
  if ! insmod "/lib/modules/$kver/$mod" 2>/tmp/insmod.err; then
    say "insmod $mod failed: $(head -n 1 /tmp/insmod.err)"
  fi
done < /etc/vmspec/modules

# Kernel command line.
phase=
nonce=
set -f
# shellcheck disable=SC2013 # words, not lines, are wanted
for arg in $(cat /proc/cmdline); do
  case $arg in
    vmspec.phase=*) phase=${arg#vmspec.phase=} ;;
    vmspec.nonce=*) nonce=${arg#vmspec.nonce=} ;;
  esac
done
set +f
source=cmdline

# QEMU fw_cfg.
fwcfg=/sys/firmware/qemu_fw_cfg/by_name/opt/vmspec
if [ -z "$phase" ] && [ -r "$fwcfg/phase/raw" ]; then
  phase=$(cat "$fwcfg/phase/raw")
  [ -r "$fwcfg/nonce/raw" ] && nonce=$(cat "$fwcfg/nonce/raw")
  source=fw_cfg
fi

# Under Xen the disks are PV block devices (xvd*, the xen_blkfront module
# carried in this initramfs); elsewhere virtio (vd*).
first=/dev/vda
if [ "$(cat /sys/hypervisor/type 2>/dev/null)" = xen ]; then
  first=/dev/xvda
  blkfront=$(find "/lib/modules/$kver" -name 'xen-blkfront.ko' 2>/dev/null | head -n 1)
  if [ -n "$blkfront" ]; then
    insmod "$blkfront" 2>/tmp/insmod.err || say "insmod xen-blkfront failed: $(head -n 1 /tmp/insmod.err)"
  else
    say "running under Xen, but no xen-blkfront.ko in this initramfs"
  fi
fi

# Wait for the disks (probed asynchronously after insmod).
i=0
while [ ! -b "$first" ] && [ $i -lt 100 ]; do
  usleep 50000
  i=$((i + 1))
done
usleep 200000

disk=
end=
for d in /dev/vd[a-z] /dev/xvd[a-z]; do
  [ -b "$d" ] || continue
  if [ "$(head -c 22 "$d" 2>/dev/null)" = "VMSPEC-EVIDENCE-DISK 1" ]; then
    disk=$d
    break
  fi
done
if [ -n "$disk" ]; then
  case $(head -c 512 "$disk" | tr -d '\000') in
    *end=reset*) end=reset ;;
  esac
  if [ -z "$phase" ]; then
    set -f
    for line in $(head -c 512 "$disk" | tr -d '\000'); do
      case $line in
        phase=*) phase=${line#phase=} ;;
        nonce=*) nonce=${line#nonce=} ;;
      esac
    done
    set +f
    source="evidence disk"
  fi
elif [ -b /dev/vdb ] && [ "$(dd if=/dev/vdb bs=1 skip=257 count=5 2>/dev/null)" = ustar ]; then
  # The header is gone and a tar is there: this boot follows a reset the host let run on. Keep that boot's evidence.
  out "vmspec-init: /dev/vdb already holds an evidence bundle (this boot follows a reset): powering off without collecting"
  sync
  echo o > /proc/sysrq-trigger
  sleep 10
  poweroff -f
elif [ -b /dev/vdb ] && [ "$(dd if=/dev/vdb bs=8 skip=64 count=1 2>/dev/null)" != "EFI PART" ]; then
  disk=/dev/vdb
fi
[ "$phase" = none ] && phase=

set --
if [ -n "$phase" ]; then
  say "phase $phase nonce $nonce (from $source)"
  set -- --phase "$phase" --nonce "$nonce"
fi

if [ -n "$disk" ]; then
  say "collecting evidence to $disk"
  sh /usr/share/vmspec/collect.sh --out /tmp/evidence --tar "$disk" "$@"
  rc=$?
else
  say "no evidence disk: collecting evidence to the console"
  dmesg -n 1
  sh /usr/share/vmspec/collect.sh --out /tmp/evidence --console "$@"
  rc=$?
fi
finish "collect.sh exited $rc, $(cut -d' ' -f1 /proc/uptime)s since boot" "$rc"
