import t from 'tap';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { join } from 'node:path';
import { run } from '../../fixtures/cache.js';
import { crc32 } from '../../../bytes/crc32.js';
import { hex32 } from '../../../bytes/hex.js';
import { formatGuid, guidBytes, isGuid } from '../../../bytes/guid.js';
import { partitionTypeName, PARTITION_TYPES, TYPE_GUID } from '../../../probes/image/partition-types.js';
import { prng } from './gpt-edit.js';

t.test('crc32 equals zlib crc32, whole and incremental', async (t) => {
  const rnd = prng(5);
  t.equal(crc32(new Uint8Array(0)), 0);
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'the CRC-32 check value');
  for (let i = 0; i < 50; i++) {
    const b = Buffer.alloc(Math.floor(rnd() * 5000));
    for (let k = 0; k < b.length; k++) b[k] = Math.floor(rnd() * 256);
    const cut = Math.floor(rnd() * b.length);
    t.equal(crc32(b), zlibCrc32(b));
    t.equal(crc32(b.subarray(cut), crc32(b.subarray(0, cut))), zlibCrc32(b));
  }
  t.equal(hex32(0x1a2b3c4d), '0x1a2b3c4d');
  t.equal(hex32(7), '0x00000007');
  t.equal(hex32(0xffffffff), '0xffffffff');
});

t.test('GUIDs: mixed-endian bytes (UEFI Appendix A), canonical uppercase strings', async (t) => {
  // The ESP GUID as it sits on disk.
  const esp = Uint8Array.from([0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b]);
  t.equal(formatGuid(esp), 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  t.same(guidBytes('c12a7328-f81f-11d2-ba4b-00a0c93ec93b'), esp);
  t.equal(formatGuid(guidBytes(TYPE_GUID.linuxRootAarch64)), TYPE_GUID.linuxRootAarch64);
  t.ok(isGuid(TYPE_GUID.linuxLuks));
  t.notOk(isGuid('C12A7328F81F11D2BA4B00A0C93EC93B'));
  t.throws(() => guidBytes('nope'));
  t.throws(() => formatGuid(esp, 4));
  t.equal(partitionTypeName('c12a7328-f81f-11d2-ba4b-00a0c93ec93b'), 'EFI System Partition');
  t.equal(partitionTypeName('12345678-1234-1234-1234-123456789ABC'), null);
  for (const [name, guid] of Object.entries(TYPE_GUID)) t.ok(partitionTypeName(guid), `${name} has a name`);
});

t.test('every well-known type GUID is one sgdisk knows', async (t) => {
  const dir = t.testdir({});
  const img = join(dir, 'types.img');
  const guids = Object.keys(PARTITION_TYPES);
  run('truncate', ['-s', `${guids.length + 4}M`, img]);
  run('sgdisk', ['-o', img]);
  run('sgdisk', [...guids.flatMap((g, i) => ['-n', `${i + 1}:0:+1M`, '-t', `${i + 1}:${g}`]), img]);
  guids.forEach((g, i) => {
    const line = /Partition GUID code: (.*)/.exec(run('sgdisk', ['-i', String(i + 1), img]))?.[1] ?? '';
    t.equal(line.slice(0, 36), g, `${g} round-trips`);
    t.notMatch(line, /\(Unknown\)/, `sgdisk names ${g} (${PARTITION_TYPES[g]}): ${line.slice(37)}`);
  });
});
