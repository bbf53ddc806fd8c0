import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import t from 'tap';
import { PE_HEADER_READ, peReadingSchema, readPe, resolvedSectionNames, type PeReading } from '../../../probes/image/pe.js';
import { efiBinaries } from '../../fixtures/efi-binaries.js';
import { debianShim } from '../../fixtures/shim-builder.js';

/**
 * PE/COFF headers of real EFI binaries from Debian, checked against
 * `file` (libmagic) and, where binutils knows the format, `objdump -f/-h`.
 * Then non-PE files and damaged headers: readings with valid:false and
 * problems, never a throw.
 */

const bins = efiBinaries();
const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(peReadingSchema);

function check(t: { ok: (v: unknown, m: string) => unknown }, r: PeReading, what: string): void {
  t.ok(validate(JSON.parse(JSON.stringify(r))), `${what}: matches peReadingSchema ${ajv.errorsText(validate.errors)}`);
}

/** `file -b` words → the PE fields they stand for (libmagic's msdos magic). */
const FILE_MACHINES: Record<string, number> = { Aarch64: 0xaa64, 'x86-64': 0x8664, 'ARM Thumb': 0x1c2, 'ARMv7 Thumb': 0x1c4, 'Intel 80386': 0x14c };
const FILE_SUBSYSTEMS: Record<string, number> = { 'EFI application': 10, 'EFI boot service driver': 11, 'EFI runtime driver': 12 };

function fileFacts(path: string): { magic: string; machine: number | undefined; subsystem: number | undefined; sections: number } {
  const out = spawnSync('file', ['-b', path], { encoding: 'utf8' }).stdout;
  const m = /^(PE32\+?) executable \(([^)]+)\) (.+?)(?: \(stripped to external PDB\))?, for MS Windows, (\d+) sections/.exec(out);
  if (!m) throw new Error(`unexpected file(1) output: ${out}`);
  return { magic: m[1]!, subsystem: FILE_SUBSYSTEMS[m[2]!], machine: FILE_MACHINES[m[3]!], sections: Number(m[4]) };
}

/** The first objdump that recognises the file, or null (Debian's native objdump knows only x86 PE). */
function objdump(path: string, flag: '-f' | '-h'): string | null {
  for (const tool of ['objdump', 'aarch64-linux-gnu-objdump', 'arm-linux-gnueabihf-objdump']) {
    const r = spawnSync(tool, [flag, path], { encoding: 'utf8' });
    if (r.status === 0 && /file format pei-/.test(r.stdout)) return r.stdout;
  }
  return null;
}

const REAL = [
  { name: 'grubaa64', path: bins.grubaa64, magic: 'PE32+', machine: 0xaa64, machineName: 'ARM64' },
  { name: 'systemd-bootaa64', path: bins.systemdBootAa64, magic: 'PE32+', machine: 0xaa64, machineName: 'ARM64' },
  { name: 'arm32', path: bins.arm32, magic: 'PE32', machine: 0x1c2, machineName: 'THUMB' },
  { name: 'grubx64', path: bins.grubx64, magic: 'PE32+', machine: 0x8664, machineName: 'AMD64' },
] as const;

for (const b of REAL) {
  t.test(`${b.name} (${bins.manifest[b.name === 'systemd-bootaa64' ? 'systemdBootAa64' : b.name]?.package})`, async (t) => {
    const whole = readFileSync(b.path);
    const r = readPe(whole.subarray(0, PE_HEADER_READ), whole.length);
    check(t, r, b.name);
    t.equal(r.valid, true);
    t.same(r.problems, [], 'a real EFI binary has no header problems');
    t.equal(r.magic, b.magic);
    t.equal(r.machine, b.machine);
    t.equal(r.machineName, b.machineName);
    t.equal(r.subsystem, 10);
    t.equal(r.subsystemName, 'EFI_APPLICATION');
    t.same(readPe(whole), r, 'reading the whole file gives the same facts as the first 64 KiB');

    const f = fileFacts(b.path);
    t.equal(r.magic, f.magic, 'file(1): PE32 / PE32+');
    t.equal(r.machine, f.machine, 'file(1): machine');
    t.equal(r.subsystem, f.subsystem, 'file(1): subsystem');
    t.equal(r.numberOfSections, f.sections, 'file(1): number of sections');
    t.equal(r.sections.length, f.sections);

    const head = objdump(b.path, '-f');
    const sections = objdump(b.path, '-h');
    if (head === null || sections === null) {
      t.comment(`no objdump here reads ${b.name}'s PE format (Debian's binutils builds lack pei-arm; for AArch64 install binutils-aarch64-linux-gnu): objdump cross-check skipped`);
      return;
    }
    const start = BigInt(/start address (0x[0-9a-f]+)/.exec(head)?.[1] ?? '-1');
    t.equal(start, BigInt(r.imageBase!) + BigInt(r.addressOfEntryPoint!), 'objdump -f: start address = ImageBase + AddressOfEntryPoint');
    const rows = [...sections.matchAll(/^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/gm)];
    t.same(rows.map((m) => m[1]), r.sections.map((s) => s.name), 'objdump -h: section names');
    t.same(
      rows.map((m) => [BigInt(`0x${m[3]}`), Number.parseInt(m[4]!, 16)]),
      r.sections.map((s) => [BigInt(r.imageBase!) + BigInt(s.virtualAddress), s.pointerToRawData]),
      'objdump -h: VMA and file offset of each section',
    );
  });
}

t.test('files that are not PE images', async (t) => {
  for (const [name, path] of [['ELF', bins.elf], ['text', bins.text]] as const) {
    const r = readPe(readFileSync(path));
    check(t, r, name);
    t.equal(r.valid, false, name);
    t.match(r.problems[0], /not "MZ"/, `${name}: says why`);
    t.equal(r.machine, null);
  }
  const empty = readPe(new Uint8Array(0));
  t.equal(empty.valid, false);
  t.match(empty.problems[0], /e_magic .*past the end of the 0-byte file/);
  t.match(readPe(Buffer.from('MZ')).problems[0], /MS-DOS header .*past the end of the 2-byte file/);
});

/** A minimal PE32+ header built field by field (PE Format §3, §4). */
function craft(opts: { lfanew?: number; machine?: number; sections?: number; optSize?: number; magic?: number; subsystem?: number; size?: number } = {}): Uint8Array {
  const b = new Uint8Array(opts.size ?? 1024);
  const v = new DataView(b.buffer);
  const lf = opts.lfanew ?? 0x80;
  v.setUint16(0, 0x5a4d, true);
  v.setUint32(0x3c, lf, true);
  if (lf + 24 + 112 <= b.length) {
    v.setUint32(lf, 0x4550, true);
    v.setUint16(lf + 4, opts.machine ?? 0xaa64, true);
    v.setUint16(lf + 6, opts.sections ?? 0, true);
    v.setUint16(lf + 20, opts.optSize ?? 112 + 16 * 8, true);
    v.setUint16(lf + 22, 0x0206, true);
    const o = lf + 24;
    v.setUint16(o, opts.magic ?? 0x20b, true);
    v.setUint32(o + 16, 0x1000, true);
    v.setUint32(o + 56, 0x4000, true);
    v.setUint32(o + 60, 0x400, true);
    v.setUint16(o + 68, opts.subsystem ?? 10, true);
    v.setUint32(o + 108, 16, true);
  }
  return b;
}

t.test('crafted headers', async (t) => {
  const ok = readPe(craft());
  t.equal(ok.valid, true);
  t.same(ok.problems, []);
  t.equal(ok.magic, 'PE32+');
  t.equal(ok.imageBase, '0x0');

  const names: [number, string | null][] = [[0x1c4, 'ARMNT'], [0x5064, 'RISCV64'], [0x14c, 'I386'], [0x1234, null]];
  for (const [machine, name] of names) t.equal(readPe(craft({ machine })).machineName, name, `machine 0x${machine.toString(16)}`);
  for (const [subsystem, name] of [[11, 'EFI_BOOT_SERVICE_DRIVER'], [12, 'EFI_RUNTIME_DRIVER'], [13, 'EFI_ROM'], [99, null]] as const) {
    t.equal(readPe(craft({ subsystem })).subsystemName, name, `subsystem ${subsystem}`);
  }

  const dos = readPe(craft({ lfanew: 0x40, size: 0x40 }));
  t.equal(dos.valid, false);
  t.match(dos.problems.join('\n'), /past the end of the 64-byte file/, 'e_lfanew at the end of the file');
  const far = craft();
  new DataView(far.buffer).setUint32(0x3c, 0xfffffff0, true);
  t.match(readPe(far).problems.join('\n'), /PE signature.*past the end/, 'e_lfanew far beyond the file');
  const noSig = craft();
  noSig[0x80] = 0;
  t.match(readPe(noSig).problems.join('\n'), /not "PE\\0\\0"/);
  t.match(readPe(craft({ optSize: 0 })).problems.join('\n'), /object file/);
  t.match(readPe(craft({ magic: 0x107 })).problems.join('\n'), /Magic is 0x107/);
  t.match(readPe(craft({ optSize: 100 })).problems.join('\n'), /smaller than the 112 bytes/);
  const many = readPe(craft({ sections: 0xffff }));
  t.equal(many.valid, true, 'a huge section count is a problem, not a failure');
  t.ok(many.sections.length <= 96);
  t.match(many.problems.join('\n'), /NumberOfSections 65535 exceeds 96/);
  t.match(many.problems.join('\n'), /section header \d+ .*past the end/);

  // A prefix of a real file: what lies beyond is "not examined", not "past the end".
  const whole = readFileSync(bins.grubaa64);
  const prefix = readPe(whole.subarray(0, 200), whole.length);
  t.equal(prefix.valid, false);
  t.match(prefix.problems.join('\n'), /beyond the first 200 bytes examined/);
});

t.test('random damage to real headers: never throws, always schema-valid', async (t) => {
  const base = readFileSync(bins.systemdBootAa64).subarray(0, 4096);
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let valid = 0;
  for (let i = 0; i < 3000; i++) {
    const b = new Uint8Array(base);
    const flips = 1 + rnd(6);
    // Aim at the headers: DOS header, PE/COFF/optional header, section table.
    for (let k = 0; k < flips; k++) b[rnd(3) === 0 ? rnd(0x40) : 0x40 + rnd(0x200)] = rnd(256);
    const len = rnd(4) === 0 ? rnd(b.length) : b.length;
    let r: PeReading;
    try {
      r = readPe(b.subarray(0, len));
    } catch (e) {
      t.fail(`iteration ${i}: threw ${(e as Error).message}`);
      continue;
    }
    if (!validate(JSON.parse(JSON.stringify(r)))) t.fail(`iteration ${i}: ${ajv.errorsText(validate.errors)}`);
    try {
      const names = resolvedSectionNames(b.subarray(0, len), r);
      if (names.length !== r.sections.length) t.fail(`iteration ${i}: ${names.length} names for ${r.sections.length} sections`);
    } catch (e) {
      t.fail(`iteration ${i}: resolvedSectionNames threw ${(e as Error).message}`);
    }
    if (r.valid) valid++;
  }
  t.pass(`3000 damaged headers read without a throw (${valid} still valid)`);
});

t.test('long section names from the COFF string table, as objdump -h names them (Debian\'s signed shim)', async (t) => {
  const s = debianShim();
  for (const [what, path] of [['shimaa64.efi', s.shim], ['fbaa64.efi', s.fallback], ['mmaa64.efi', s.mokManager], ['grubaa64.efi', s.grub]] as const) {
    const b = readFileSync(path);
    const pe = readPe(b.subarray(0, PE_HEADER_READ), b.length);
    const dump = objdump(path, '-h');
    if (!dump) {
      t.pass(`${what}: no objdump here reads pei-aarch64, not cross-checked`);
      continue;
    }
    const oracle = [...dump.matchAll(/^\s+\d+\s+(\S+)\s+[0-9a-f]{8}/gm)].map((m) => m[1]!);
    t.same(resolvedSectionNames(b, pe), oracle, `${what}: ${oracle.join(' ')}`);
  }
  const shim = readFileSync(s.shim);
  const pe = readPe(shim.subarray(0, PE_HEADER_READ), shim.length);
  t.ok(pe.sections.some((x) => /^\/\d+$/.test(x.name)), 'readPe alone leaves "/N" names (the table is past the headers)');
  t.same(resolvedSectionNames(shim.subarray(0, PE_HEADER_READ), pe), pe.sections.map((x) => x.name), 'a string table past the bytes given leaves the names as they are');
  const cut = Buffer.from(shim);
  const lfanew = cut.readUInt32LE(0x3c);
  cut.writeUInt32LE(0xfffffff0, lfanew + 4 + 8);
  t.same(resolvedSectionNames(cut, pe), pe.sections.map((x) => x.name), 'a PointerToSymbolTable past the end leaves them too');
});

t.test('random damage to shim\'s symbol table pointer and string table: names resolve or stay "/N", never a throw', async (t) => {
  const shim = readFileSync(debianShim().shim);
  const lfanew = shim.readUInt32LE(0x3c);
  const pe = readPe(shim.subarray(0, PE_HEADER_READ), shim.length);
  const table = shim.readUInt32LE(lfanew + 4 + 8) + shim.readUInt32LE(lfanew + 4 + 12) * 18;
  let seed = 777;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let resolved = 0;
  for (let i = 0; i < 500; i++) {
    const b = Buffer.from(shim);
    const flips = 1 + rnd(4);
    for (let k = 0; k < flips; k++) {
      const where = rnd(3);
      if (where === 0) b[lfanew + 4 + 8 + rnd(8)] = rnd(256);
      else b[table + rnd(64)] = rnd(256);
    }
    const len = rnd(4) === 0 ? table + rnd(80) : b.length;
    try {
      const names = resolvedSectionNames(b.subarray(0, len), pe);
      t.equal(names.length, pe.sections.length);
      if (names.includes('.vendor_cert')) resolved++;
    } catch (e) {
      t.fail(`iteration ${i}: threw ${(e as Error).message}`);
    }
  }
  t.pass(`500 damaged tables read without a throw (${resolved} still named .vendor_cert)`);
});
