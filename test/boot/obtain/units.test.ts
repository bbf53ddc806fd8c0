import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { UnsupportedError } from '../../../bytes/errors.js';
import { run } from '../../fixtures/cache.js';
import { cacheEntryPaths, defaultImageCacheDir } from '../../../boot/obtain/cache-layout.js';
import { normaliseDigest } from '../../../boot/obtain/digest.js';
import { parseContentRange } from '../../../boot/obtain/download.js';
import { sniffImageFormat } from '../../../boot/obtain/image-format.js';
import { MAX_CACHE_NAME, safeCacheName, urlFileName } from '../../../boot/obtain/image-name.js';
import { parseSource } from '../../../boot/obtain/source.js';
import { digestsFor, parseSumsFile } from '../../../boot/obtain/sums-file.js';

const H256 = 'ab'.repeat(32);
const H512 = 'cd'.repeat(64);

t.test('GNU sums lines: text and binary markers, ./ prefix, CRLF, escaped names', async (t) => {
  const text = [
    `${H256}  debian.qcow2`,
    `${'11'.repeat(32)} *noble-server-cloudimg-arm64.img`,
    `${'22'.repeat(32)}  ./sub.img\r`,
    `\\${'33'.repeat(32)}  a\\\\b\\nc.img`,
    `${H512}  debian.qcow2`,
    `${'44'.repeat(20)}  sha1-is-ignored.img`,
    'garbage line',
  ].join('\n');
  const entries = parseSumsFile(text);
  t.same(entries.map((e) => [e.name, e.algorithm, e.line]), [
    ['debian.qcow2', 'sha256', 1],
    ['noble-server-cloudimg-arm64.img', 'sha256', 2],
    ['sub.img', 'sha256', 3],
    ['a\\b\nc.img', 'sha256', 4],
    ['debian.qcow2', 'sha512', 5],
  ]);
  t.same(digestsFor(entries, 'debian.qcow2', 'SUMS'), { sha256: H256, sha512: H512 });
  t.same(digestsFor(entries, 'noble-server-cloudimg-arm64.img', 'SUMS'), { sha256: '11'.repeat(32) });
  t.same(digestsFor(entries, 'absent.img', 'SUMS'), {});
  t.same(digestsFor(entries, 'Debian.qcow2', 'SUMS'), {}, 'names match exactly');
});

t.test('BSD / Fedora CHECKSUM lines inside a PGP clear-signed wrapper', async (t) => {
  const text = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

# Fedora-Cloud-Base-Generic-42-1.1.aarch64.qcow2: 123 bytes
SHA256 (Fedora-Cloud-Base-Generic-42-1.1.aarch64.qcow2) = ${H256.toUpperCase()}
SHA512 (other.raw.xz) = ${H512}
SHA256 (bad-length.img) = abcd
- -dash-escaped comment
-----BEGIN PGP SIGNATURE-----

iQIzBAEBCAAdFiEE${'A'.repeat(60)}
${'0'.repeat(64)}  inside-signature.img
-----END PGP SIGNATURE-----
`;
  const entries = parseSumsFile(text);
  t.same(entries.map((e) => e.name), ['Fedora-Cloud-Base-Generic-42-1.1.aarch64.qcow2', 'other.raw.xz'], 'signature block and malformed lines ignored');
  t.same(digestsFor(entries, 'Fedora-Cloud-Base-Generic-42-1.1.aarch64.qcow2', 'CHECKSUM'), { sha256: H256 }, 'hex lower-cased');
});

t.test('a list giving two digests of one algorithm for one name is refused', async (t) => {
  const entries = parseSumsFile(`${H256}  x.img\nSHA256 (x.img) = ${'ef'.repeat(32)}\n`);
  const err = t.throws(() => digestsFor(entries, 'x.img', 'https://h/SUMS')) as UnsupportedError;
  t.match(err.message, /https:\/\/h\/SUMS: lines 1 and 2 give different sha256 digests for "x\.img"/);
  t.match(err.hint, /pin/);
});

t.test('pinned digests: case and whitespace forgiven, wrong length or characters refused with the reason', async (t) => {
  t.equal(normaliseDigest('sha256', ` ${H256.toUpperCase()}\n`, 'sha256'), H256);
  t.match((t.throws(() => normaliseDigest('sha256', H512, 'pinned sha256')) as UnsupportedError).message, /pinned sha256: ".*" is not a sha256 digest \(expected 64 hexadecimal digits, got 128 characters\)/);
  t.throws(() => normaliseDigest('sha512', 'z'.repeat(128), 'x'), /not a sha512 digest/);
});

t.test('URL file names are decoded; the cache name is safe whatever the URL holds', async (t) => {
  t.equal(urlFileName(new URL('https://h/a/debian%2012.qcow2?x=1#f')), 'debian 12.qcow2');
  t.equal(urlFileName(new URL('https://h/a/..%2F..%2Fetc%2Fpasswd')), '../../etc/passwd');
  t.throws(() => urlFileName(new URL('https://h/images/')), /does not end in a file name/);
  t.throws(() => urlFileName(new URL('https://h/%E0%A4%A')), /not valid percent-encoding/);
  // The WHATWG parser already resolves %2e%2e segments; what is left must still not be a name.
  t.throws(() => urlFileName(new URL('https://h/a/%2e%2e')), /does not end in a file name/);

  const hostile = ['../../etc/passwd', '..', '.', '.hidden', 'a/b\\c', 'nul\0byte.img', `${'x'.repeat(300)}.qcow2`, '%2e%2e', '', '/', 'ümlaut.img', 'CON'];
  for (const name of hostile) {
    const safe = safeCacheName(name);
    t.match(safe, /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/, `${JSON.stringify(name.slice(0, 20))} → ${safe.slice(0, 30)}`);
    t.ok(safe.length <= MAX_CACHE_NAME, 'bounded length');
    t.notOk(safe === '.' || safe === '..', 'never a dot name');
  }
  t.equal(safeCacheName('../../etc/passwd'), '_.._etc_passwd');
  t.equal(safeCacheName('nul\0byte.img'), 'nul_byte.img');
  t.ok(safeCacheName(`${'x'.repeat(300)}.qcow2`).endsWith('.qcow2'), 'the extension survives truncation');
  t.equal(safeCacheName('..'), 'image');
  t.equal(safeCacheName('/'), 'image_');
});

t.test('cache entry paths: one directory per URL, every file inside it', async (t) => {
  const root = '/var/cache/vmspec-test';
  const urls = ['https://h/a/..%2F..%2F..%2Fescape', 'https://h/%00', `https://h/${'y'.repeat(5000)}.img`, 'https://h/a/.entry.json', 'https://h/x.img', 'https://h/y/x.img'];
  const dirs = new Set<string>();
  for (const u of urls) {
    const p = cacheEntryPaths(root, new URL(u));
    t.equal(dirname(p.dir), root, `${u.slice(0, 40)}: entry directory directly under the cache`);
    t.match(relative(root, p.dir), /^[0-9a-f]{32}$/);
    for (const f of [p.image, p.part, p.partRecord, p.entryRecord, p.lock]) t.equal(dirname(f), p.dir, `${relative(root, f).slice(0, 60)} stays in its entry`);
    t.not(p.image, p.entryRecord, 'an image can never overwrite a record');
    dirs.add(p.dir);
  }
  t.equal(dirs.size, urls.length, 'different URLs never share a directory, even with the same file name');
});

t.test('the default cache follows XDG_CACHE_HOME when it is absolute', async (t) => {
  const saved = process.env.XDG_CACHE_HOME;
  t.teardown(() => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  });
  process.env.XDG_CACHE_HOME = '/srv/cache';
  t.equal(defaultImageCacheDir(), '/srv/cache/vmspec/images');
  process.env.XDG_CACHE_HOME = 'relative/cache';
  t.match(defaultImageCacheDir(), /\/\.cache\/vmspec\/images$/);
});

t.test('sources: paths, file:// and http(s) URLs; other schemes, credentials and NUL refused', async (t) => {
  t.match(parseSource('disk.img'), { kind: 'local', path: join(process.cwd(), 'disk.img') });
  t.match(parseSource('file:///srv/images/a%20b.img'), { kind: 'local', path: '/srv/images/a b.img' });
  t.match(parseSource('https://example.org/x.qcow2'), { kind: 'http' });
  t.match(parseSource('weird:name.img'), { kind: 'local' }, 'a colon without // is a file name');
  t.throws(() => parseSource('ftp://example.org/x.img'), /the ftp scheme is not supported/);
  t.throws(() => parseSource('https://user:secret@example.org/x.img'), /credentials in URLs are refused/);
  t.throws(() => parseSource('file://otherhost/x.img'), /file:\/\//);
  t.throws(() => parseSource('a\0b'), /NUL/);
  t.throws(() => parseSource(''), /empty/);
  t.throws(() => parseSource(`https://h/${'a'.repeat(9000)}`), /characters long/);
});

t.test('Content-Range parsing', async (t) => {
  t.same(parseContentRange('bytes 100-199/200'), { start: 100, end: 199, total: 200 });
  t.same(parseContentRange('bytes 100-199/*'), { start: 100, end: 199 });
  t.equal(parseContentRange('bytes 100-99/200'), undefined);
  t.equal(parseContentRange('bytes 100-200/200'), undefined, 'end past the total');
  t.equal(parseContentRange('items 1-2/3'), undefined);
  t.equal(parseContentRange(undefined), undefined);
});

t.test('format sniffing: qcow2 magic, raw otherwise, archives refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-sniff-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, bytes: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  t.equal(sniffImageFormat(file('q', Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(100)]))), 'qcow2');
  t.equal(sniffImageFormat(file('r', Buffer.alloc(4096, 7))), 'raw');
  t.equal(sniffImageFormat(file('empty', Buffer.alloc(0))), 'raw');
  t.equal(sniffImageFormat(file('short', Buffer.from('QF'))), 'raw');
  t.throws(() => sniffImageFormat(file('x.xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2]))), /xz file, not a disk image/);
  t.throws(() => sniffImageFormat(file('x.gz', Buffer.from([0x1f, 0x8b, 8, 0]))), /gzip/);
  const tar = Buffer.alloc(1024);
  tar.write('ustar', 257, 'latin1');
  const err = t.throws(() => sniffImageFormat(file('x.tar', tar))) as UnsupportedError;
  t.match(err.hint, /tar -xf/);
});

t.test('format sniffing: the image probes\' detector underneath, so containers QEMU would misread as raw are refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-sniff-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [format, refused] of [['vmdk', /vmdk images are not supported/], ['vdi', /vdi images are not supported/], ['vhdx', /vhdx images are not supported/]] as const) {
    const p = join(dir, `x.${format}`);
    run('qemu-img', ['create', '-q', '-f', format, p, '1M']);
    const err = t.throws(() => sniffImageFormat(p), refused) as UnsupportedError;
    t.match(err.hint, /qemu-img convert/);
  }
  const q = join(dir, 'x.qcow2');
  run('qemu-img', ['create', '-q', '-f', 'qcow2', q, '1M']);
  t.equal(sniffImageFormat(q), 'qcow2');
});
