import { readFileSync } from 'node:fs';
import { PE_HEADER_READ, readPe } from '../../../probes/image/pe.js';
import { efiBinaries } from '../../fixtures/efi-binaries.js';
import type { Field, FuzzTarget, Seed } from '../harness.js';
import { invariant } from './invariant.js';

/**
 * PE/COFF headers of real EFI binaries from Debian packages (GRUB and
 * systemd-boot for arm64, an arm32 application). The seed is the part the
 * boot-file probe reads (the first PE_HEADER_READ bytes).
 */

function peSeed(name: string, path: string): Seed {
  const bytes = new Uint8Array(readFileSync(path)).subarray(0, PE_HEADER_READ).slice();
  const r = readPe(bytes);
  const lfanew = r.e_lfanew ?? 0x80;
  const opt = lfanew + 24;
  const plus = r.magic === 'PE32+';
  const fields: Field[] = [
    { at: 0x3c, width: 4, endian: 'le', name: 'e_lfanew', values: [0n, 0x40n, BigInt(PE_HEADER_READ - 4)] },
    { at: lfanew + 6, width: 2, endian: 'le', name: 'NumberOfSections', values: [97n, 0xffffn] },
    { at: lfanew + 20, width: 2, endian: 'le', name: 'SizeOfOptionalHeader', values: [0n, 1n, 2n, 95n, 111n, 0xffffn] },
    { at: opt, width: 2, endian: 'le', name: 'Magic', values: [0x10bn, 0x20bn] },
    { at: opt + 16, width: 4, endian: 'le', name: 'AddressOfEntryPoint' },
    { at: opt + 56, width: 4, endian: 'le', name: 'SizeOfImage' },
    { at: opt + 60, width: 4, endian: 'le', name: 'SizeOfHeaders' },
    { at: opt + (plus ? 108 : 92), width: 4, endian: 'le', name: 'NumberOfRvaAndSizes' },
  ];
  const table = opt + (r.sizeOfOptionalHeader ?? 0);
  for (let i = 0; i < Math.min(r.sections.length, 4); i++) {
    fields.push({ at: table + i * 40 + 16, width: 4, endian: 'le', name: `section ${i} SizeOfRawData` });
    fields.push({ at: table + i * 40 + 20, width: 4, endian: 'le', name: `section ${i} PointerToRawData` });
  }
  return { name, bytes, fields, hot: [[0, 0x40], [lfanew, 24 + (r.sizeOfOptionalHeader ?? 0) + 40 * r.sections.length]] };
}

export const peTarget: FuzzTarget = {
  name: 'pe',
  runs: 3000,
  randomWeight: 1,
  seeds: () => {
    const bins = efiBinaries();
    return [peSeed('grubaa64', bins.grubaa64), peSeed('systemd-bootaa64', bins.systemdBootAa64), peSeed('arm32', bins.arm32)];
  },
  run(bytes) {
    // The probe reads a head of a larger file: the file size is a separate fact.
    for (const fileSize of [bytes.length, bytes.length * 4]) {
      const r = readPe(bytes, fileSize);
      invariant(r.sections.length <= 96, 'at most MAX_SECTIONS sections are listed');
      JSON.stringify(r);
    }
    return null;
  },
};
