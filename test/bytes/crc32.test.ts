import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32, crc32c, crc32Table } from '../../bytes/crc32.js';
import { loadedZlib, zlib } from '../../bytes/lazy-builtins.js';
import { run } from '../fixtures/cache.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

t.test('CRC-32 (IEEE): the check value and zlib', async (t) => {
  t.equal(loadedZlib(), undefined, 'node:zlib is not loaded by vmspec yet: crc32 is the table');
  t.equal(crc32(ascii('123456789')), 0xcbf43926, 'the CRC-32 check value');
  t.equal(crc32(new Uint8Array(0)), 0);
  const data = ascii('The quick brown fox jumps over the lazy dog');
  t.equal(crc32(data), zlibCrc32(data));
});

t.test('CRC-32 equals zlib for every length 0..64 and offset 0..7 (the eight-byte steps and the tail)', async (t) => {
  const bytes = Uint8Array.from({ length: 80 }, (_, i) => (i * 151 + 7) & 0xff);
  let wrong = 0;
  for (let off = 0; off < 8; off++) for (let len = 0; len <= 64; len++) {
    const piece = bytes.subarray(off, off + len);
    if (crc32Table(piece) !== zlibCrc32(piece)) wrong++;
    if (crc32Table(piece, 0x1234) !== zlibCrc32(piece, 0x1234)) wrong++;
  }
  t.equal(wrong, 0, 'no length, offset or starting value differs');
  const big = Uint8Array.from({ length: 16384 + 5 }, (_, i) => (i * 31) ^ (i >>> 8));
  t.equal(crc32Table(big), zlibCrc32(big), 'a 16 KiB GPT entry array and a tail');
  // Once vmspec has loaded node:zlib, crc32 is zlib's: the same values, continued the same way.
  zlib();
  t.ok(loadedZlib(), 'node:zlib loaded');
  t.equal(crc32(big), crc32Table(big), 'zlib route: the same CRC');
  t.equal(crc32(big.subarray(100), crc32(big.subarray(0, 100))), crc32Table(big), 'zlib route: continued over pieces');
});

t.test('CRC-32C (Castagnoli): the check value and RFC 3720 §B.4 vectors', async (t) => {
  t.equal(crc32c(ascii('123456789')), 0xe3069283, 'the CRC-32C check value');
  t.equal(crc32c(new Uint8Array(0)), 0);
  t.equal(crc32c(new Uint8Array(32)), 0x8a9136aa, '32 bytes of zeroes');
  t.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43, '32 bytes of 0xff');
  t.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e, '32 incrementing bytes');
  t.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c, '32 decrementing bytes');
  const data = ascii('continues over pieces');
  t.equal(crc32c(data.subarray(9), crc32c(data.subarray(0, 9))), crc32c(data), 'incremental');
});

t.test('CRC-32C matches the checksum mkfs.ext4 writes into a metadata_csum superblock', async (t) => {
  const img = join(t.testdir({}), 'csum.ext4');
  run('truncate', ['-s', '4M', img]);
  run('mkfs.ext4', ['-q', '-F', '-O', 'metadata_csum', img]);
  const sb = readFileSync(img).subarray(1024, 2048);
  // ext4 super.c ext4_superblock_csum(): crc32c_le(~0, sb, offsetof(s_checksum)), no final inversion.
  const s_checksum = Buffer.from(sb).readUInt32LE(0x3fc);
  t.equal((crc32c(sb.subarray(0, 0x3fc)) ^ 0xffffffff) >>> 0, s_checksum);
});
