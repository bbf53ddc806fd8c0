#!/bin/sh
# vmspec reference image, login variant: /init (busybox). Where the reference
# collects and powers off, this one prepares what a LAVA shell job needs and
# hands over to busybox init, which runs getty on the first PL011 UART:
#
#   * the drivers the Debian kernel has as modules (the reference's, from
#     /etc/vmspec/modules) and ext4 with what it needs: LAVA mounts its test
#     overlay disk with `mount /dev/disk/by-uuid/UUID -t ext2`, and Debian's
#     kernel serves ext2 through the ext4 module;
#   * /dev/disk/by-uuid/ links for ext2/3/4 file systems (busybox has no udev
#     and no blkid: the UUID is read from the superblock);
#   * the hostname (vmspec), then `login:` on ttyAMA0 (/etc/inittab), root's
#     password from /etc/shadow, and an ash prompt `root@vmspec:~# `.
# The kernel runs without `quiet`: LAVA's auto-login first waits for the
# banner `Linux version ...` on the console.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /run
/bin/busybox --install -s
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp

say() {
  echo "vmspec-init: $*"
}

say "kernel $(uname -r), login variant, $(cut -d' ' -f1 /proc/uptime)s since boot"

kver=$(uname -r)
while IFS= read -r mod; do
  [ -n "$mod" ] || continue
  if ! insmod "/lib/modules/$kver/$mod" 2>/tmp/insmod.err; then
    say "insmod $mod failed: $(head -n 1 /tmp/insmod.err)"
  fi
done < /etc/vmspec/modules

# Wait for the first disk (virtio is probed asynchronously after insmod).
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
  usleep 50000
  i=$((i + 1))
done
usleep 200000

# hex OFFSET COUNT DEV: COUNT bytes of DEV from OFFSET as lower-case hex.
hex() {
  dd if="$3" bs=1 skip="$1" count="$2" 2>/dev/null | od -An -tx1 | tr -d ' \n'
}

# ext2/3/4 superblock at byte 1024: s_magic 0xEF53 at +56 (little endian),
# s_uuid (16 bytes) at +104.
mkdir -p /dev/disk/by-uuid
for d in /sys/class/block/*; do
  dev=/dev/${d##*/}
  [ -b "$dev" ] || continue
  [ "$(hex 1080 2 "$dev")" = 53ef ] || continue
  u=$(hex 1128 16 "$dev")
  [ ${#u} -eq 32 ] || continue
  uuid=$(echo "$u" | sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)\(.\{12\}\)$/\1-\2-\3-\4-\5/')
  ln -sf "../../${d##*/}" "/dev/disk/by-uuid/$uuid"
  say "/dev/disk/by-uuid/$uuid -> $dev"
done

hostname -F /etc/hostname
# Kernel messages from here on (e.g. the overlay's mount) stay off the console, where the
# test shell's output (and the evidence frame) goes.
dmesg -n 1
say "ready for login on ttyAMA0"
exec /bin/busybox init
