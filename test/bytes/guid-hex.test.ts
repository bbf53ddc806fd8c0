import t from 'tap';
import { openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { formatGuid, guidBytes, isGuid } from '../../bytes/guid.js';
import { hex, hex32, hexBytes, hexDigits } from '../../bytes/hex.js';
import { run } from '../fixtures/cache.js';

t.test('GUIDs round-trip through the bytes sgdisk writes into a GPT entry', async (t) => {
  const img = join(t.testdir({}), 'gpt.img');
  const unique = '01234567-89AB-CDEF-0123-456789ABCDEF';
  const diskGuid = 'F00DFACE-1234-4567-89AB-0123456789AB';
  run('truncate', ['-s', '4M', img]);
  run('sgdisk', ['-o', '-U', diskGuid, '-n', '1:0:+1M', '-t', '1:C12A7328-F81F-11D2-BA4B-00A0C93EC93B', '-u', `1:${unique}`, img]);
  const fd = openSync(img, 'r');
  const lba = new Uint8Array(1024);
  readSync(fd, lba, 0, 1024, 512); // LBA 1 (header) and LBA 2 (first entries), 512-byte sectors
  closeSync(fd);
  // UEFI 2.10 §5.3.2 GPT header: DiskGUID at 56; §5.3.3 entry: PartitionTypeGUID at 0, UniquePartitionGUID at 16.
  t.equal(formatGuid(lba, 56), diskGuid);
  t.equal(formatGuid(lba, 512), 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  t.equal(formatGuid(lba, 512 + 16), unique);
  t.same(guidBytes(unique), lba.subarray(512 + 16, 512 + 32), 'guidBytes gives the on-disk bytes');
  t.same(guidBytes(diskGuid.toLowerCase()), lba.subarray(56, 72), 'lowercase input too');
  t.ok(isGuid(unique));
  t.notOk(isGuid('01234567-89AB-CDEF-0123-456789ABCDE'));
  t.throws(() => formatGuid(lba, 1020), RangeError);
});

t.test('hex family', async (t) => {
  t.equal(hex(0x9000000), '0x9000000', 'addresses unpadded');
  t.equal(hex(0xffffffffffffffffn), '0xffffffffffffffff', 'bigint');
  t.equal(hex(0xee, 4), '0x00ee', 'fixed width');
  t.equal(hex(0xaa55, 4, 'upper'), '0xAA55', 'as the FAT spec prints');
  t.equal(hex32(0x1a2b3c4d), '0x1a2b3c4d');
  t.equal(hex32(7), '0x00000007');
  t.equal(hex32(-1), '0xffffffff', 'a u32 whatever the sign JavaScript gave it');
  t.equal(hexDigits(0xabcd, 8, 'upper'), '0000ABCD');
  t.equal(hexBytes(Uint8Array.from([0, 0x0f, 0xa0])), '000fa0');
  t.equal(hexBytes(Uint8Array.from([0x1f, 0x8b]), ' '), '1f 8b');
});
