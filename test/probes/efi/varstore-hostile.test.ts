/**
 * Hostile inputs for the variable store parser, made from a REAL store (the
 * formatted AAVMF_VARS.ms.fd template of qemu-efi-aarch64) by damaging one
 * field at a time, plus truncations and seeded random bytes. Every input
 * must give a reading (with problems) or a ParseError: never another
 * exception, never a hang, never a change to the input.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParseError } from '../../../bytes/errors.js';
import { parseVarStore, readVarStoreFile, type VarStore, type VarStoreReading } from '../../../probes/efi/varstore.js';
import { prng } from '../../fixtures/prng.js';

const TEMPLATE = '/usr/share/AAVMF/AAVMF_VARS.ms.fd';
const FV_BYTES = 0xc0000;
const skip = existsSync(TEMPLATE) ? false : `${TEMPLATE} missing (apt-get install --no-install-recommends qemu-efi-aarch64)`;

function readHead(path: string, n: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const b = new Uint8Array(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** Parse, demanding a reading or a ParseError, and that the input is untouched. */
function attempt(bytes: Uint8Array): { reading?: VarStoreReading; error?: ParseError } {
  const before = createHash('sha256').update(bytes).digest('hex');
  try {
    return { reading: parseVarStore(bytes) };
  } catch (e) {
    if (!(e instanceof ParseError)) throw new Error(`parseVarStore threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    return { error: e };
  } finally {
    if (createHash('sha256').update(bytes).digest('hex') !== before) throw new Error('parseVarStore modified its input');
  }
}

function store(r: { reading?: VarStoreReading }): VarStore | undefined {
  return r.reading?.kind === 'store' ? r.reading : undefined;
}

t.test('damaged real store', { skip }, async (t) => {
  const pristine = readHead(TEMPLATE, FV_BYTES);
  const base = store(attempt(pristine));
  if (!base) throw new Error('the template did not parse');
  const third = base.variables[2]!;
  const auth = base.store.authenticated;
  const nameSizeAt = third.offset + (auth ? 36 : 8);
  const copy = (): Uint8Array => pristine.slice();
  const le32 = (b: Uint8Array, at: number, v: number): void => new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);

  t.test('truncated files', async (t) => {
    for (const n of [0, 1, 40, 55, 56, 71, 72, 80, 99, 100, third.offset + 10, third.dataOffset + 1, 0x2000, 0x3ffff, 0x40010]) {
      const r = attempt(pristine.subarray(0, n));
      if (r.error) {
        t.match(r.error.message, /EFI_FIRMWARE_VOLUME_HEADER|VARIABLE_STORE_HEADER|VARIABLE_HEADER/, `${n} bytes: ParseError naming the structure (${r.error.message})`);
      } else {
        const s = store(r);
        t.ok(s, `${n} bytes: a store`);
        t.ok(s?.problems.some((p) => /truncated/.test(p.message)), `${n} bytes: reported as truncated`);
        t.ok((s?.variables.length ?? 0) <= base.variables.length, 'no invented variables');
      }
    }
    t.ok(attempt(pristine.subarray(0, 56)).error, 'a header without its BlockMap is a ParseError');
  });

  t.test('huge NameSize', async (t) => {
    const b = copy();
    le32(b, nameSizeAt, 0x7ffffff0);
    const s = store(attempt(b));
    t.ok(s, 'still a store');
    t.equal(s?.end.reason, 'bad-variable');
    t.equal(s?.variables.length, 2, 'the two variables before it are kept');
    t.match(s?.problems[0], { structure: 'AUTHENTICATED_VARIABLE_HEADER', offset: third.offset, message: /NameSize 2147483632 \+ DataSize \d+ run past the end of the store/ });
  });

  t.test('huge DataSize', async (t) => {
    const b = copy();
    le32(b, nameSizeAt + 4, 0xfffffff0);
    const s = store(attempt(b));
    t.equal(s?.end.reason, 'bad-variable');
    t.match(s?.problems[0]?.message, /DataSize 4294967280/);
  });

  t.test('all-ones NameSize: an interrupted header edk2 counts as empty', async (t) => {
    const b = copy();
    le32(b, nameSizeAt, 0xffffffff);
    const s = store(attempt(b));
    t.ok(s, 'a store');
    t.equal(s?.variables[2]?.nameSize, 0, 'NameSize counts as 0');
    t.ok(s?.end.reason === 'not-a-variable' || s?.end.reason === 'bad-variable', `the walk stops at the garbage after it (${s?.end.reason})`);
  });

  t.test('non-terminated name', async (t) => {
    const b = copy();
    const nulAt = third.dataOffset - 2;
    b[nulAt] = 0x41;
    const s = store(attempt(b));
    t.ok(s?.problems.some((p) => p.offset === nameSizeAt && /not NUL-terminated/.test(p.message)), 'reported where NameSize is');
    t.equal(s?.variables[2]?.name, `${third.name}A`, 'the name as far as NameSize goes');
    t.equal(s?.variables.length, base.variables.length, 'the walk goes on: the sizes are sound');
  });

  t.test('store Size larger than the FV', async (t) => {
    const b = copy();
    le32(b, base.store.offset + 16, FV_BYTES);
    const r = attempt(b);
    t.ok(r.error, 'ParseError');
    t.match(r.error?.message, /VARIABLE_STORE_HEADER at offset 88: Size 786432 does not fit/);
  });

  t.test('bad FV checksum', async (t) => {
    const b = copy();
    b[44] = (b[44] ?? 0) ^ 0x01; // Attributes
    const s = store(attempt(b));
    t.equal(s?.fv.checksumValid, false);
    t.ok(s?.problems.some((p) => p.structure === 'EFI_FIRMWARE_VOLUME_HEADER' && p.offset === 50 && /Checksum/.test(p.message)), 'reported at the Checksum field');
    t.equal(s?.variables.length, base.variables.length, 'the store is still read');
  });

  t.test('zeroed header', async (t) => {
    const b = copy();
    b.fill(0, 0, 0x48);
    const r = attempt(b);
    t.match(r.error?.message, /EFI_FIRMWARE_VOLUME_HEADER at offset 40: Signature is 0x00000000, not "_FVH"/);
    const blank = attempt(new Uint8Array(8192));
    t.equal(blank.reading?.kind, 'blank', 'an all-zero file is a blank store, not an error');
  });

  t.test('impossible HeaderLength and FvLength', async (t) => {
    let b = copy();
    b[48] = 0x10;
    b[49] = 0;
    t.match(attempt(b).error?.message, /HeaderLength 16 is impossible/);
    b = copy();
    new DataView(b.buffer).setBigUint64(32, 1n << 40n, true);
    t.match(attempt(b).error?.message, /FvLength 1099511627776 exceeds/);
  });

  t.test('garbage where the free space should be', async (t) => {
    const b = copy();
    b.fill(0x00, base.end.offset, base.end.offset + 64);
    const s = store(attempt(b));
    t.equal(s?.end.reason, 'not-a-variable');
    t.ok(s?.problems.some((p) => p.offset === base.end.offset), 'reported where the walk stopped');
  });

  t.test('unknown store signature', async (t) => {
    const b = copy();
    b[base.store.offset] = (b[base.store.offset] ?? 0) ^ 0xff;
    t.match(attempt(b).error?.message, /VARIABLE_STORE_HEADER at offset 72: Signature .* is neither gEfiVariableGuid/);
  });

  t.test('seeded random damage to the real store', async (t) => {
    const rand = prng(0x5eed_0005);
    let errors = 0;
    let readings = 0;
    for (let i = 0; i < 400; i++) {
      const b = copy();
      const flips = 1 + Math.floor(rand() * 8);
      // Damage where it matters: headers and the first variables.
      for (let k = 0; k < flips; k++) b[Math.floor(rand() * (base.end.offset + 64))] = Math.floor(rand() * 256);
      const r = attempt(b);
      if (r.error) errors++;
      else readings++;
    }
    t.equal(errors + readings, 400, `400 damaged stores: ${readings} readings, ${errors} ParseErrors, nothing else`);
  });

  t.test('random bytes', async (t) => {
    const rand = prng(0xbad_5eed);
    for (let i = 0; i < 200; i++) {
      const n = Math.floor(rand() * 4096);
      const b = new Uint8Array(n);
      for (let k = 0; k < n; k++) b[k] = Math.floor(rand() * 256);
      // Some with a plausible header so the walk is reached.
      if (i % 2 === 0 && n >= 128) b.set(pristine.subarray(0, 100));
      attempt(b);
    }
    t.pass('200 random inputs: readings or ParseErrors only');
  });
});

t.test('readVarStoreFile: only the volume is read, the file opened read-only', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-varstore-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The volume, then a tail the reader must never need.
  const head = readHead(TEMPLATE, FV_BYTES);
  const path = join(dir, 'vars.fd');
  writeFileSync(path, Buffer.concat([head, Buffer.alloc(1024 * 1024, 0xee)]));
  const r = readVarStoreFile(path);
  t.equal(r.kind, 'store');
  t.equal(r.sourceBytes, FV_BYTES + 1024 * 1024);
  const short = join(dir, 'short.fd');
  writeFileSync(short, head.subarray(0, 0x20000));
  const s = readVarStoreFile(short);
  t.ok(s.kind === 'store' && s.problems.some((p) => /FvLength 786432 is larger than/.test(p.message)), 'a truncated file is reported');
  t.throws(() => readVarStoreFile(join(dir, 'missing.fd')), { name: 'UnsupportedError', message: /cannot read the vars file .*missing\.fd: ENOENT/ });
});
