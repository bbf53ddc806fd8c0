import { readFileSync } from 'node:fs';
import { liveVariables, parseVarStore } from '../../../probes/efi/varstore.js';
import type { FuzzTarget, Seed } from '../harness.js';
import { invariant } from './invariant.js';

/**
 * The edk2 variable store (probes/efi) as `vmspec boot` reads an instance's
 * vars file after power-off. The seed is Debian's formatted AAVMF template
 * with Microsoft keys enrolled (AAVMF_VARS.ms.fd: firmware volume header,
 * authenticated variable store, PK/KEK/db/dbx), cut to its firmware volume.
 */
const TEMPLATE = '/usr/share/AAVMF/AAVMF_VARS.ms.fd';
const FV_BYTES = 0xc0000;
// EFI_FIRMWARE_VOLUME_HEADER is 0x48 bytes here; VARIABLE_STORE_HEADER (28 bytes) follows; the first
// AUTHENTICATED_VARIABLE_HEADER starts 4-aligned after it (edk2 VariableFormat.h).
const STORE = 0x48;
const FIRST_VARIABLE = 0x64;

export const varstoreTarget: FuzzTarget = {
  name: 'varstore',
  runs: 2000,
  randomWeight: 1,
  seeds: (): Seed[] => {
    const bytes = new Uint8Array(readFileSync(TEMPLATE)).subarray(0, FV_BYTES).slice();
    return [{
      name: 'AAVMF_VARS.ms.fd',
      bytes,
      fields: [
        { at: 32, width: 8, endian: 'le', name: 'FvLength', values: [0n, 0x48n, BigInt(FV_BYTES + 1), 1n << 40n] },
        { at: 48, width: 2, endian: 'le', name: 'HeaderLength', values: [0n, 0x38n, 0xffffn] },
        { at: 52, width: 2, endian: 'le', name: 'ExtHeaderOffset' },
        { at: STORE + 16, width: 4, endian: 'le', name: 'VARIABLE_STORE_HEADER.Size', values: [0n, 28n, BigInt(FV_BYTES), 0xffffffffn] },
        { at: STORE + 20, width: 1, endian: 'le', name: 'Format' },
        { at: STORE + 21, width: 1, endian: 'le', name: 'State' },
        { at: FIRST_VARIABLE + 2, width: 1, endian: 'le', name: 'first variable State' },
        { at: FIRST_VARIABLE + 36, width: 4, endian: 'le', name: 'first variable NameSize', values: [0n, 1n, 2n, 0xffffffffn] },
        { at: FIRST_VARIABLE + 40, width: 4, endian: 'le', name: 'first variable DataSize', values: [0n, 0xffffffffn] },
      ],
      hot: [[0, FIRST_VARIABLE + 4096]],
    }];
  },
  fixup(bytes) {
    // Re-seal the FV header checksum (16-bit sum over HeaderLength bytes is 0) so mutations reach the store.
    if (bytes.length < 0x48) return;
    const len = bytes[48]! | (bytes[49]! << 8);
    if (len < 0x38 || len > bytes.length || len % 2) return;
    bytes[50] = 0;
    bytes[51] = 0;
    let sum = 0;
    for (let i = 0; i < len; i += 2) sum = (sum + (bytes[i]! | (bytes[i + 1]! << 8))) & 0xffff;
    const c = (0x10000 - sum) & 0xffff;
    bytes[50] = c & 0xff;
    bytes[51] = c >> 8;
  },
  run(bytes) {
    const r = parseVarStore(bytes);
    if (r.kind === 'store') {
      const live = liveVariables(r);
      invariant(live.length <= r.variables.length, 'the live view is a subset of the variables walked');
      for (const v of r.variables) invariant(v.offset >= 0 && v.offset < bytes.length, 'every variable lies inside the input');
    }
    return r.kind;
  },
};
