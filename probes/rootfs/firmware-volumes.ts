import { isReadError } from '../../bytes/errors.js';
import { FsError, typeAt, walk, type ReadOnlyFilesystem } from '../fs/filesystem.js';
import type { DiskImage } from '../image/disk.js';
import { openEsp } from '../image/esp.js';
import { findFirmwareVolume } from '../efi/firmware-volume.js';
import type { Memo } from '../types.js';
import { openRootfs } from './rootfs.js';
import { guestView } from './guest.js';
import type { OsView } from './os-view.js';

/**
 * Finding UEFI firmware images shipped inside the image (FW-7). A platform
 * flash image (QEMU_EFI.fd, AAVMF_CODE.fd, OVMF.fd…) is a sequence of
 * firmware volumes, each starting with an EFI_FIRMWARE_VOLUME_HEADER
 * (read by probes/efi/firmware-volume.ts). Files are checked by their first
 * 64 KiB (bounded reads, never whole files).
 */

export interface FirmwareVolumeHit {
  where: 'esp' | 'rootfs';
  /** Path in that filesystem ("/usr/share/AAVMF/AAVMF_CODE.fd", "/EFI/BOOT/QEMU_EFI.fd"). */
  path: string;
  /** Offset of the volume header in the file. */
  offset: number;
  fileSystemGuid: string;
  /** What the GUID names: FFS2, FFS3, NV variable store... */
  fileSystem: string;
  fvLength: number;
  fileSize: number;
}

export interface FirmwareScan {
  volumes: FirmwareVolumeHit[];
  espFiles: number;
  rootfsDirs: string[];
  rootfsFiles: number;
  /** Set only when nothing was found and part of the image could not be scanned. */
  incomplete: string | null;
  problems: string[];
}

const HEAD = 64 * 1024;
const MAX_FILES = 5000;

/** Directories where distributions install VM firmware (Debian, Fedora, SUSE, Arch) and where an ESP is mounted. */
export const FIRMWARE_DIRS = [
  '/usr/share/AAVMF', '/usr/share/qemu-efi-aarch64', '/usr/share/qemu-efi', '/usr/share/OVMF', '/usr/share/ovmf',
  '/usr/share/edk2', '/usr/share/edk2-ovmf', '/usr/share/edk2-armvirt', '/usr/share/qemu', '/usr/lib/edk2', '/boot',
];

const FS_GUIDS: Record<string, string> = {
  '7A9354D9-0468-444A-81CE-0BF617D890DF': 'FFS1 (EFI_FIRMWARE_FILE_SYSTEM_GUID)',
  '8C8CE578-8A3D-4F1C-9935-896185C32DD3': 'FFS2 (EFI_FIRMWARE_FILE_SYSTEM2_GUID)',
  '5473C07A-3DCB-4DCA-BD6F-1E9689E7349A': 'FFS3 (EFI_FIRMWARE_FILE_SYSTEM3_GUID)',
  'FFF12B8D-7696-4C8B-A985-2747075B4F50': 'UEFI variable store (EFI_SYSTEM_NV_DATA_FV_GUID)',
};

export function scanFirmwareVolumes(image: DiskImage, memo: Memo): FirmwareScan {
  return memo.get('rootfs.firmware-volumes', () => {
    const scan: FirmwareScan = { volumes: [], espFiles: 0, rootfsDirs: [], rootfsFiles: 0, incomplete: null, problems: [] };
    const hit = (where: FirmwareVolumeHit['where'], path: string, head: Uint8Array, size: number): void => {
      const fv = findFirmwareVolume(head, size);
      if (fv) scan.volumes.push({ where, path, offset: fv.offset, fileSystemGuid: fv.guid, fileSystem: FS_GUIDS[fv.guid] ?? 'unknown file system GUID', fvLength: fv.fvLength, fileSize: size });
    };
    const unscanned: string[] = [];
    // The ESP: every file.
    const esp = openEsp(image, memo);
    if (esp.partition && !esp.volume) unscanned.push(`the ESP (partition ${esp.partition.number}) is not readable: ${esp.error ?? ''}`);
    if (esp.volume) {
      try {
        for (const item of esp.volume.walk()) {
          if (item.entry.isDirectory || item.entry.size < 72) continue;
          if (++scan.espFiles > MAX_FILES) break;
          hit('esp', item.path, esp.volume.readFile(item.entry, HEAD), item.entry.size);
        }
      } catch (e) {
        if (!isReadError(e)) throw e;
        scan.problems.push(`ESP: ${e.message}`);
        unscanned.push(`the ESP could not be walked completely: ${e.message}`);
      }
    }
    // The usual firmware directories of the root as the OS mounts it (fstab's /boot, /usr… joined), so
    // firmware on a separate /boot or /usr is seen; the root alone when no view can be assembled. The ESP
    // was scanned above: where the view mounts it, it is left out.
    const roots = openRootfs(image, memo);
    const view = osView(image, memo);
    const espAt = (view?.mounts ?? []).filter((m) => m.joined && esp.partition && m.partition === esp.partition.number).map((m) => m.mountPoint);
    const onEsp = (path: string): boolean => espAt.some((at) => path === at || path.startsWith(`${at}/`));
    if (roots.root) {
      const fs = view?.fs ?? roots.root.fs;
      for (const dir of FIRMWARE_DIRS) {
        if (!isDir(fs, dir) || onEsp(dir)) continue;
        scan.rootfsDirs.push(dir);
        try {
          for (const e of walk(fs, dir, { maxEntries: 20_000, maxDepth: 12 })) {
            if (e.type !== 'file' || onEsp(e.path)) continue;
            if (++scan.rootfsFiles > MAX_FILES) break;
            const size = fs.lstat(e.path).size;
            if (size < 72) continue;
            hit('rootfs', e.path, fs.read(e.path, 0, Math.min(size, HEAD)), size);
          }
        } catch (e) {
          if (!(e instanceof FsError) && !isReadError(e)) throw e;
          scan.problems.push(`${dir}: ${(e as Error).message}`);
          unscanned.push(`${dir} could not be walked completely: ${(e as Error).message}`);
        }
      }
    } else {
      const blocked = roots.scanned.filter((s) => s.filesystem && !['vfat', 'swap'].includes(s.filesystem));
      if (roots.damaged || blocked.length) unscanned.push(roots.unreadable ?? roots.damaged ?? 'the root filesystem is not readable');
    }
    if (scan.volumes.length === 0 && unscanned.length) scan.incomplete = unscanned.join('; ');
    return scan;
  });
}

/** The OS view, or null when the root cannot be assembled (a damaged root is reported by the root clauses). */
function osView(image: DiskImage, memo: Memo): OsView | null {
  try {
    return guestView(image, memo).os;
  } catch (e) {
    if (isReadError(e) || e instanceof FsError) return null;
    throw e;
  }
}

function isDir(fs: ReadOnlyFilesystem, path: string): boolean {
  return typeAt(fs, path) === 'directory';
}
