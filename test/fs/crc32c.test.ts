import t from 'tap';
import { crc32c } from '../../probes/fs/crc32c.js';

t.test('CRC-32C check values (RFC 3720 §B.4) and continuation', async (t) => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  t.equal(crc32c(enc('123456789')), 0xe3069283, 'the catalogue check value');
  t.equal(crc32c(new Uint8Array(32)), 0x8a9136aa, '32 zero bytes (RFC 3720 B.4)');
  t.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43, '32 0xff bytes (RFC 3720 B.4)');
  t.equal(crc32c(enc('56789'), crc32c(enc('1234'))), 0xe3069283, 'crc32c(b, crc32c(a)) is crc32c(a ++ b)');
  t.equal(crc32c(new Uint8Array(0)), 0);
});
