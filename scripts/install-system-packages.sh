#!/usr/bin/env bash
# Installs the Debian packages vmspec and its tests use. Run as root.
# One list, used by setup.sh and .ci/run alike.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-packages: must run as root (try: sudo bash $0)" >&2
  exit 2
fi

PACKAGES=(
  qemu-utils          # qemu-img: qcow2 fixtures and oracle
  qemu-system-arm     # qemu-system-aarch64: DTB dumps, guest boots
  qemu-efi-aarch64    # AAVMF/edk2 firmware
  ipxe-qemu           # efi-virtio.rom: QEMU's default NIC and LAVA's virtio-net-pci need it (a Recommends, so named here)
  mtools dosfstools   # FAT images and oracle
  gdisk fdisk         # sgdisk/sfdisk: GPT images and oracle
  e2fsprogs           # mkfs.ext4/debugfs: root filesystems and oracle
  device-tree-compiler acpica-tools  # dtc, iasl: DT/ACPI oracles
  grub-common         # grub-mkstandalone for the reference image
  xfsprogs btrfs-progs cryptsetup-bin squashfs-tools  # filesystem detection fixtures
  lvm2                # pvcreate/lvcreate --driverloaded n, lvs/pvck: LVM fixtures and their oracle
  file binutils binutils-aarch64-linux-gnu  # PE/COFF oracles
  busybox shellcheck  # collector tests: run under busybox sh, lint as POSIX sh
  cpio xz-utils zstd ca-certificates
  kmod                # depmod/modprobe: module metadata for root filesystem fixtures and their oracle
  cloud-init          # `cloud-init schema`: validates the NoCloud user-data vmspec boot generates
  lava-common         # lava_common.schemas: validates the LAVA jobs vmspec lava-job generates
  libxml2-utils       # xmllint: validates the JUnit reports against the JUnit XSD
  chromium            # the HTML report in a real browser (test/reports/html-browser.test.ts)
)

# Only with VMSPEC_SLOW_TESTS=1: the real Debian arm64 image (mmdebstrap under qemu-user).
if [ -n "${VMSPEC_SLOW_TESTS:-}" ]; then
  PACKAGES+=(
    mmdebstrap        # builds the real Debian arm64 root filesystem
    qemu-user-static  # runs arm64 maintainer scripts through binfmt_misc
    binfmt-support    # update-binfmts --enable qemu-aarch64
    arch-test         # mmdebstrap refuses foreign architectures without it
    # The Xen guest firmware (boot/xen/guest-firmware.ts): U-Boot from Debian's source package.
    dpkg-dev make gcc libc6-dev gcc-aarch64-linux-gnu bison flex bc libssl-dev patch
  )
  # ...whose `apt-get source u-boot` needs a deb-src entry: the binary entries' twin.
  if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/vmspec-deb-src.sources
    elif [ -f /etc/apt/sources.list ]; then
      sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/vmspec-deb-src.list
    fi
  fi
fi

# arm64/armhf packages (kernel, busybox, grub, EFI test binaries) are fetched with `apt-get download`
# for the reference image; the architecture must be known to apt for that.
for arch in arm64 armhf; do
  if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    dpkg --add-architecture "$arch"
  fi
done

# A mirror mid-sync can fail one index (seen: armhf security); retry, then go
# on with what was fetched: the install below fails loudly if it matters.
for attempt in 1 2 3; do
  if apt-get update -q; then break; fi
  echo "install-system-packages: apt-get update failed (attempt $attempt); retrying" >&2
  sleep $((attempt * 5))
done
apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
