import t from 'tap';
import { LeReader } from '../../bytes/le-reader.js';
import { ParseError } from '../../bytes/errors.js';

const bytes = Uint8Array.from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xfe, 0xff, 0x41, 0x42, 0x00, 0x43]);

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

function parseError(t: TapTest, fn: () => unknown): ParseError {
  try {
    fn();
  } catch (e) {
    t.type(e, ParseError, 'a ParseError, not a RangeError');
    return e as ParseError;
  }
  t.fail('expected a ParseError');
  return new ParseError('', -1, '');
}

t.test('little-endian fields at their offsets', async (t) => {
  const r = new LeReader(bytes, 'test structure');
  t.equal(r.u8(0), 0x01);
  t.equal(r.u16(0), 0x0201);
  t.equal(r.u32(0), 0x04030201);
  t.equal(r.u32(4), 0x08070605);
  t.equal(r.u64(0), 0x0807060504030201n);
  t.equal(r.u16(8), 0xfffe);
  t.equal(r.i16(8), -2, 'i16 is signed');
  t.equal(r.u32(6), 0xfffe0807, 'u32 above 2^31 stays unsigned');
  t.equal(r.ascii(10, 4), 'AB', 'ascii stops at the first NUL');
  t.equal(r.hiLo(0, 4, 'x', 2), 0x0605 * 2 ** 32 + 0x04030201, 'a 16-bit high half');
  t.equal(r.hiLo(0, undefined, 'x'), 0x04030201, 'no high half');
  const view = r.slice(2, 3);
  t.same([...view], [3, 4, 5]);
  t.equal(view.buffer, bytes.buffer, 'slice is a view, not a copy');
  t.ok(r.has(0, bytes.length));
  t.notOk(r.has(1, bytes.length));
  t.notOk(r.has(-1, 1));
  t.notOk(r.has(0.5, 1));
  t.notOk(r.has(0, Number.MAX_SAFE_INTEGER + 2));
});

t.test('a field past the end names the structure, the offset and (per span) the field', async (t) => {
  const input = parseError(t, () => new LeReader(bytes, 'EFI_FIRMWARE_VOLUME_HEADER').u32(12, 'Signature'));
  t.equal(input.structure, 'EFI_FIRMWARE_VOLUME_HEADER');
  t.equal(input.offset, 12);
  t.equal(input.message, 'EFI_FIRMWARE_VOLUME_HEADER at offset 12: Signature (4 bytes) runs past the end of the 14-byte input: the file is truncated or the structure is not where expected');

  const table = parseError(t, () => new LeReader(bytes, 'MADT', { span: 'table', limit: 8 }).u16(7, 'Flags'));
  t.equal(table.offset, 7);
  t.equal(table.message, 'MADT at offset 7: Flags (2 bytes) runs past the end of the table (Length 8)', 'limited to the table Length, not the buffer');

  const structure = parseError(t, () => new LeReader(bytes, 'ext4 inode 12', { span: 'structure', base: 4096 }).u32(12));
  t.equal(structure.offset, 4096 + 12, 'absolute offset: base + field offset');
  t.equal(structure.message, 'ext4 inode 12 at offset 4108: field of 4 bytes at +12 lies outside the 14-byte structure');

  const negative = parseError(t, () => new LeReader(bytes, 's').u8(-1, 'f'));
  t.equal(negative.offset, -1);
  parseError(t, () => new LeReader(bytes, 's').slice(0, 15, 'f'));
  parseError(t, () => new LeReader(bytes, 's').u64(NaN, 'f'));
});

t.test('limit, as(), hiLo overflow and fail()', async (t) => {
  const tooLong = parseError(t, () => new LeReader(bytes, 'XSDT', { span: 'table', limit: 15 }));
  t.equal(tooLong.message, 'XSDT at offset 0: limit 15 exceeds the 14-byte buffer');

  const whole = new LeReader(bytes, 'input', { span: 'structure', base: 100 });
  const named = whole.as('VARIABLE_HEADER');
  t.equal(named.structure, 'VARIABLE_HEADER');
  t.equal(named.u32(0), whole.u32(0), 'same bytes');
  t.equal(parseError(t, () => named.u8(20)).offset, 120, 'keeps span and base');

  const big = new LeReader(Uint8Array.from([0, 0, 0, 0, 0, 0, 0x20, 0]), 'ext4 superblock', { span: 'structure', base: 1024 });
  const over = parseError(t, () => big.hiLo(0, 4, 's_blocks_count'));
  t.equal(over.offset, 1024);
  t.match(over.message, /s_blocks_count 2097152:0 exceeds 2\^53/);

  const fail = parseError(t, () => whole.fail(3, 'bad magic'));
  t.equal(fail.offset, 103);
  t.equal(fail.structure, 'input');
});
