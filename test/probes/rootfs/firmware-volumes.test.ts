/**
 * Firmware volume detection on Debian's real edk2 builds (qemu-efi-aarch64:
 * QEMU_EFI.fd, AAVMF_CODE.fd, whose first volume starts 4 KiB in, where
 * `grep -obUaP _FVH` finds the signature), and files that are not firmware.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, openSync, readSync, closeSync, statSync, readFileSync } from 'node:fs';
import { findFirmwareVolume } from '../../../probes/efi/firmware-volume.js';
import { efiBinaries } from '../../fixtures/efi-binaries.js';
import { pseudoRandom } from '../../fixtures/ext4-builder.js';

function head(path: string, n = 65536): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(Math.min(n, statSync(path).size));
    readSync(fd, b, 0, b.length, 0);
    return b;
  } finally {
    closeSync(fd);
  }
}

const FIRMWARE = ['/usr/share/qemu-efi-aarch64/QEMU_EFI.fd', '/usr/share/AAVMF/AAVMF_CODE.fd'];
const missing = FIRMWARE.filter((f) => !existsSync(f));

t.test("Debian's edk2 builds are found where grep finds _FVH", { skip: missing.length ? `not installed: ${missing.join(', ')} (Debian package qemu-efi-aarch64)` : false }, async (t) => {
  for (const f of FIRMWARE) {
    const sig = Number(execFileSync('sh', ['-c', 'grep -obUaP _FVH "$1" | head -1 | cut -d: -f1', 'sh', f], { encoding: 'utf8' }).trim());
    const fv = findFirmwareVolume(head(f), statSync(f).size);
    t.ok(fv, `${f}: a firmware volume`);
    t.equal(fv?.offset, sig - 40, `${f}: the header starts 40 bytes before "_FVH" (at ${sig})`);
    t.equal(fv?.guid, '8C8CE578-8A3D-4F1C-9935-896185C32DD3', `${f}: FFS2`);
    t.ok(fv && fv.fvLength > 0 && fv.offset + fv.fvLength <= statSync(f).size, `${f}: FvLength within the file`);
    // A broken header checksum is not a volume.
    const b = Buffer.from(head(f));
    b[fv!.offset + 50]! ^= 0xff;
    t.equal(findFirmwareVolume(b, statSync(f).size), null, `${f}: corrupted checksum rejected`);
    // A volume claiming to be longer than the file is not one either.
    t.equal(findFirmwareVolume(head(f), fv!.offset + 100), null, `${f}: FvLength beyond the file rejected`);
  }
});

t.test('files that are not firmware', async (t) => {
  const efi = efiBinaries();
  for (const f of [efi.grubaa64, efi.systemdBootAa64, efi.grubx64, efi.text]) t.equal(findFirmwareVolume(head(f), statSync(f).size), null, f);
  t.equal(findFirmwareVolume(pseudoRandom(65536, 7), 65536), null, 'random bytes');
  const onlySig = new Uint8Array(4096);
  onlySig.set(Buffer.from('_FVH'), 40);
  t.equal(findFirmwareVolume(onlySig, 4096), null, '"_FVH" alone (no header) is not a volume');
  t.equal(findFirmwareVolume(new Uint8Array(10), 10), null, 'tiny file: no read past the end');
  const text = Buffer.from(readFileSync(efi.text));
  t.equal(findFirmwareVolume(text, text.length), null);
});
