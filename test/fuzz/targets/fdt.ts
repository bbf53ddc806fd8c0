import { readFileSync } from 'node:fs';
import { dtFacts } from '../../../probes/dt/facts.js';
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_NOP, FDT_PROP, parseFdtHeader } from '../../../probes/dt/fdt.js';
import { DeviceTree } from '../../../probes/dt/tree.js';
import { customDtb, qemuDtb } from '../../fixtures/dtbs.js';
import type { Field, FuzzTarget, Seed } from '../harness.js';

/**
 * Flattened devicetrees: QEMU virt's own blobs (-M virt,dumpdtb) and a
 * board tree compiled by dtc. Fields: every header word, each property's
 * len and nameoff (string offsets at and past the strings block), and
 * structure tokens (turned into BEGIN_NODE, END_NODE, END, NOP or junk).
 */

const TOKENS = [BigInt(FDT_BEGIN_NODE), BigInt(FDT_END_NODE), BigInt(FDT_PROP), BigInt(FDT_NOP), BigInt(FDT_END), 0xdeadbeefn];

function fdtSeed(name: string, path: string): Seed {
  const bytes = new Uint8Array(readFileSync(path));
  const h = parseFdtHeader(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Field[] = [];
  for (let at = 4; at < 40; at += 4) fields.push({ at, width: 4, endian: 'be', name: `header word ${at}`, values: [BigInt(h.totalsize), BigInt(h.offDtStrings), BigInt(h.offDtStruct)] });
  const strings = BigInt(h.sizeDtStrings);
  const structEnd = h.offDtStruct + (h.sizeDtStruct ?? 0);
  // Walk the pristine structure block to find tokens and property headers.
  let tokens = 0;
  for (let off = h.offDtStruct; off + 4 <= structEnd;) {
    const tok = dv.getUint32(off, false);
    if (tokens++ % 7 === 0) fields.push({ at: off, width: 4, endian: 'be', name: `token at ${off}`, values: TOKENS });
    if (tok === FDT_BEGIN_NODE) {
      const nul = bytes.indexOf(0, off + 4);
      off = (nul + 1 + 3) & ~3;
    } else if (tok === FDT_PROP) {
      const len = dv.getUint32(off + 4, false);
      fields.push({ at: off + 4, width: 4, endian: 'be', name: `prop len at ${off}`, values: [BigInt(len) + 1n, BigInt(structEnd)] });
      fields.push({ at: off + 8, width: 4, endian: 'be', name: `prop nameoff at ${off}`, values: [strings - 1n, strings, strings + 1n] });
      off = (off + 12 + len + 3) & ~3;
    } else if (tok === FDT_END) break;
    else off += 4;
  }
  return { name, bytes, fields, hot: [[0, 40], [h.offDtStruct, Math.min(4096, structEnd - h.offDtStruct)], [h.offDtStrings, h.sizeDtStrings]] };
}

export const fdtTarget: FuzzTarget = {
  name: 'fdt',
  runs: 1500,
  seeds: () => [
    fdtSeed('qemu-gicv3-smp4', qemuDtb('gicv3-smp4').dtb),
    fdtSeed('qemu-acpi-off', qemuDtb('acpi-off').dtb),
    fdtSeed('dtc-board', customDtb('board').dtb),
  ],
  run(bytes) {
    const tree = DeviceTree.parse(bytes);
    const facts = dtFacts(tree);
    tree.node('/chosen');
    tree.node('serial0');
    JSON.stringify(facts);
    return facts;
  },
};
