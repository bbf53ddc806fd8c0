#!/bin/sh
# vmspec Xen dom0 /init (busybox sh, Debian's Xen 4.17 toolstack): run ONE
# domU from the job disk and report how it ended. No interaction; whatever
# fails, one end line is printed on dom0's console (Xen's console, the L0
# serial log) and the machine powers off. docs/xen.md describes the route.
#
# Disks from L0 (virtio, in this order):
#   /dev/vda  the job: a newc cpio holding vmspec-job (key=value), xl.cfg,
#             kernel and, when given, ramdisk (paths in xl.cfg: /job/...)
#   /dev/vdb… the image, the evidence disk, the seed: xl.cfg hands them to
#             the domU as phy: devices (blkback)
# virtio-serial ports named vmspec.vuart and vmspec.pv (L0 files) receive
# the domU's SBSA vUART and PV console.
#
# End line (one, last): VMSPEC-XEN-END reason=R domid=N seconds=S
#   R: poweroff | reboot | crash | watchdog | suspend | soft_reset | timeout | error:WORD

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /run /var /job
/bin/busybox --install -s /bin 2>/dev/null
PATH=/usr/lib/xen-4.17/bin:/usr/bin:/usr/sbin:/bin:/sbin
export PATH

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /var/run/xen /var/run/xenstored /var/lib/xen /var/log/xen /var/lock /var/lib/xenstored
mount -t devpts devpts /dev/pts
# What udev would add; the hotplug scripts' lock (locking.sh) stats /dev/stdin.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr

started=$(cut -d. -f1 /proc/uptime)
domid=-

say() {
  echo "vmspec-dom0: $*"
}

end() {
  now=$(cut -d. -f1 /proc/uptime)
  echo "VMSPEC-XEN-END reason=$1 domid=$domid seconds=$((now - started))"
  sync
  echo o > /proc/sysrq-trigger
  sleep 10
  poweroff -f
}

kver=$(uname -r)
while IFS= read -r mod; do
  [ -n "$mod" ] || continue
  insmod "/lib/modules/$kver/$mod" 2>/tmp/insmod.err || say "insmod $mod failed: $(head -n 1 /tmp/insmod.err)"
done < /etc/vmspec/dom0-modules

mkdir -p /proc/xen
mount -t xenfs xenfs /proc/xen || end error:xenfs

# Job disk: virtio disks appear asynchronously after insmod.
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
  usleep 50000
  i=$((i + 1))
done
(cd /job && cpio -i -d < /dev/vda 2>/tmp/cpio.err) || { say "job disk: $(head -n 1 /tmp/cpio.err)"; end error:job; }
[ "$(head -n 1 /job/vmspec-job 2>/dev/null)" = "VMSPEC-XEN-JOB 1" ] || end error:job
name=$(sed -n 's/^name=\([A-Za-z0-9._-]*\)$/\1/p' /job/vmspec-job)
timeout=$(sed -n 's/^timeout=\([0-9]*\)$/\1/p' /job/vmspec-job)
if [ -z "$name" ] || [ -z "$timeout" ]; then end error:job; fi

xenstored --pid-file /var/run/xen/xenstored.pid || end error:xenstored
i=0
while [ ! -f /var/run/xen/xenstored.pid ] && [ $i -lt 100 ]; do usleep 50000; i=$((i + 1)); done
xen-init-dom0 > /tmp/init-dom0.log 2>&1 || { say "xen-init-dom0: $(tail -n 1 /tmp/init-dom0.log)"; end error:xen-init-dom0; }
xenconsoled --pid-file=/var/run/xen/xenconsoled.pid || end error:xenconsoled

port() {
  for p in /sys/class/virtio-ports/*; do
    [ "$(cat "$p/name" 2>/dev/null)" = "$1" ] && { echo "/dev/${p##*/}"; return 0; }
  done
  echo /dev/null
}
vuart_port=$(port vmspec.vuart)
pv_port=$(port vmspec.pv)

say "xl create (paused) $name"
if ! xl create -p /job/xl.cfg > /tmp/create.log 2>&1; then
  sed 's/^/vmspec-dom0: xl: /' /tmp/create.log | tail -n 20
  sed 's/^/vmspec-dom0: hotplug: /' /var/log/xen/xen-hotplug.log 2>/dev/null | tail -n 20
  end error:create
fi
domid=$(xl domid "$name" 2>/dev/null) || end error:create
# Copy each console from its pty (xenconsoled's) to L0 before the domain runs.
for c in vuart/0 console; do
  tty=$(xenstore-read "/local/domain/$domid/$c/tty" 2>/dev/null)
  case $c in vuart/0) dest=$vuart_port ;; *) dest=$pv_port ;; esac
  if [ -n "$tty" ]; then
    cat "$tty" > "$dest" 2>/dev/null &
  else
    say "no $c tty for domain $domid"
  fi
done
xl unpause "$name" || end error:unpause
say "domain $name ($domid) running, timeout ${timeout}s"

deadline=$(( $(cut -d. -f1 /proc/uptime) + timeout ))
while xl domid "$name" > /dev/null 2>&1; do
  if [ "$(cut -d. -f1 /proc/uptime)" -ge "$deadline" ]; then
    xl destroy "$name"
    end timeout
  fi
  sleep 1
done
sleep 1
# xl's own monitor logs why the domain went (libxl_shutdown_reason).
code=$(sed -n 's/.*has shut down, reason code \([0-9]*\).*/\1/p' "/var/log/xen/xl-$name.log" 2>/dev/null | tail -n 1)
case $code in
  0) end poweroff ;;
  1) end reboot ;;
  2) end suspend ;;
  3) end crash ;;
  4) end watchdog ;;
  5) end soft_reset ;;
  *) sed 's/^/vmspec-dom0: xl log: /' "/var/log/xen/xl-$name.log" 2>/dev/null | tail -n 10; end error:unknown-end ;;
esac
