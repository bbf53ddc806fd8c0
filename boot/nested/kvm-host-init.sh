#!/bin/sh
# vmspec nested KVM host (L1) /init, busybox: run ONE guest (L2) under KVM
# with Debian's qemu-system-aarch64, report how it ended on this machine's
# console, power off. Written for boot/nested/kvm-runner.ts, which reads:
#
#   VMSPEC-L1: ...                      progress and the host's KVM/GIC lines
#   VMSPEC-L1-FAIL <reason>             this host could not run the job
#   VMSPEC-L1-QEMU-OUTPUT-BEGIN         L2 QEMU's stdout+stderr, base64
#   VMSPEC-L1-QEMU-OUTPUT-END
#   VMSPEC-L1-END exit=N timedout=0|1 ms=N stopped=0|1
#
# The job comes from fw_cfg opt/vmspec/job: shell text written by the runner,
# VMSPEC_TIMEOUT_S=N, VMSPEC_CONTROL=0|1 and `set -- ARG...` (every argument
# single-quoted). With VMSPEC_CONTROL=1 (a boot whose guest resets), the
# virtio-serial port vmspec.control (/run/vmspec/control) carries one line
# from L0: "stop" once L0 has seen the VM start again; L2 QEMU is then
# stopped (SIGTERM: it flushes the store) and the end line says stopped=1.
# The L0 disks are virtio-blk devices named by their serial (image, code,
# vars, evidence, seed0...): linked as /run/vmspec/<serial>. L2's serial
# console goes to the virtio-serial port named vmspec.serial, whose L0 end is
# the boot's serial log file: linked as /run/vmspec/serial.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /run/vmspec
/bin/busybox --install -s
PATH=/usr/bin:/usr/sbin:/bin:/sbin
TMPDIR=/tmp
export PATH TMPDIR

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
# QEMU puts the image's snapshot=on overlay in /var/tmp, whatever TMPDIR says.
mkdir -p /var
ln -s /tmp /var/tmp

say() { echo "VMSPEC-L1: $*"; }
off() { sync; poweroff -f; sleep 10; }
fail() { echo "VMSPEC-L1-FAIL $*"; off; }

kver=$(uname -r)
while read -r m; do
  [ -n "$m" ] && { insmod "/lib/modules/$kver/$m" || say "insmod $m failed"; }
done < /etc/vmspec/modules

# What this host offers its guests, from its own kernel.
dmesg | grep -E 'CPU: All CPU|kvm \[|GICv[23]|vgic' | sed 's/^/VMSPEC-L1: dmesg: /'
[ -c /dev/kvm ] || fail "no /dev/kvm: this L1 kernel did not start KVM (was the L1 machine given EL2, virtualization=on?)"

job=/sys/firmware/qemu_fw_cfg/by_name/opt/vmspec/job/raw
i=0
while [ ! -r "$job" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
[ -r "$job" ] || fail "no job in fw_cfg opt/vmspec/job"
cat "$job" > /tmp/job

# Devices may settle after the modules load: link them, again until every path the job names is there.
link_devices() {
  for b in /sys/block/vd*; do
    [ -r "$b/serial" ] || continue
    s=$(cat "$b/serial")
    case $s in *[!a-z0-9]*|'') continue ;; esac
    ln -sf "/dev/${b##*/}" "/run/vmspec/$s"
  done
  for p in /sys/class/virtio-ports/*; do
    case $(cat "$p/name" 2>/dev/null) in
      vmspec.serial) ln -sf "/dev/${p##*/}" /run/vmspec/serial ;;
      vmspec.control) ln -sf "/dev/${p##*/}" /run/vmspec/control ;;
    esac
  done
}

VMSPEC_TIMEOUT_S=
VMSPEC_CONTROL=0
# shellcheck source=/dev/null
. /tmp/job
case $VMSPEC_TIMEOUT_S in ''|*[!0-9]*) fail "job without VMSPEC_TIMEOUT_S" ;; esac
if [ "$VMSPEC_CONTROL" = 1 ]; then
  i=0
  while [ ! -e /run/vmspec/control ] && [ $i -lt 50 ]; do link_devices; [ -e /run/vmspec/control ] || sleep 0.2; i=$((i + 1)); done
  [ -e /run/vmspec/control ] || fail "the job asks for the control port, which L0 does not provide"
fi
for a in "$@"; do
  case $a in *=/run/vmspec/*)
    f=${a#*=/run/vmspec/}; f=${f%%,*}
    i=0
    while [ ! -e "/run/vmspec/$f" ] && [ $i -lt 50 ]; do link_devices; [ -e "/run/vmspec/$f" ] || sleep 0.2; i=$((i + 1)); done
    [ -e "/run/vmspec/$f" ] || fail "the job names /run/vmspec/$f, which no L0 device provides"
  esac
done

say "running L2: qemu-system-aarch64 $*"
uptime_cs() { t=$(cut -d' ' -f1 /proc/uptime); echo "${t%.*}${t#*.}"; }
start=$(uptime_cs)
qemu-system-aarch64 "$@" < /dev/null > /tmp/qemu.out 2>&1 &
qpid=$!
( sleep "$VMSPEC_TIMEOUT_S"; : > /tmp/timedout; kill -TERM "$qpid"; sleep 3; kill -KILL "$qpid" ) 2>/dev/null &
wpid=$!
cpid=
if [ "$VMSPEC_CONTROL" = 1 ]; then
  # A read returns at once (EOF) while L0's end of the port is not connected: read again until a line comes.
  ( until read -r word < /run/vmspec/control; do sleep 0.5; done; [ "$word" = stop ] && : > /tmp/stopped && kill -TERM "$qpid" ) 2>/dev/null &
  cpid=$!
fi
wait "$qpid"
rc=$?
end=$(uptime_cs)
kill "$wpid" $cpid 2>/dev/null
timedout=0
[ -e /tmp/timedout ] && timedout=1
stopped=0
[ -e /tmp/stopped ] && stopped=1

echo VMSPEC-L1-QEMU-OUTPUT-BEGIN
head -c 65536 /tmp/qemu.out | base64
echo VMSPEC-L1-QEMU-OUTPUT-END
echo "VMSPEC-L1-END exit=$rc timedout=$timedout ms=$(( (end - start) * 10 )) stopped=$stopped"
off
