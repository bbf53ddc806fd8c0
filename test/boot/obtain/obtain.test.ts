import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UnsupportedError } from '../../../bytes/errors.js';
import { cacheEntryPaths } from '../../../boot/obtain/cache-layout.js';
import { ChecksumMismatchError, DownloadAbortedError } from '../../../boot/obtain/errors.js';
import { obtainImage, type ObtainProgress, type ObtainRequest } from '../../../boot/obtain/obtain.js';
import { prng } from '../../fixtures/prng.js';

/** Generated image bytes: deterministic, incompressible, with a recognisable head when asked. */
function imageBytes(size: number, seed: number, head?: string): Buffer {
  const next = prng(seed);
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = Math.floor(next() * 256);
  if (head) b.write(head, 0, 'latin1');
  return b;
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

/** A real HTTP server on 127.0.0.1; routes are keyed by the raw request path. */
class TestServer {
  readonly seen: Seen[] = [];
  private readonly routes = new Map<string, Handler>();
  private constructor(private readonly server: Server, readonly base: string) {}

  static async start(): Promise<TestServer> {
    let self: TestServer | undefined;
    const server = createServer((req, res) => {
      const path = req.url ?? '/';
      self!.seen.push({ path, headers: req.headers });
      const h = self!.routes.get(path);
      if (h) h(req, res);
      else {
        res.statusCode = 404;
        res.end('no such file');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    self = new TestServer(server, `http://127.0.0.1:${addr.port}`);
    return self;
  }

  route(path: string, h: Handler): string {
    this.routes.set(path, h);
    return `${this.base}${path}`;
  }

  requestsFor(path: string): Seen[] {
    return this.seen.filter((s) => s.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Serve bytes like a static file server: ETag, Content-Length, Range (unless told to ignore it). */
function serveFile(data: Buffer, opts: { ranges?: boolean; etag?: string } = {}): Handler {
  const etag = opts.etag ?? `"${sha256(data).slice(0, 16)}"`;
  return (req, res) => {
    res.setHeader('etag', etag);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if ((opts.ranges ?? true) && range && (ifRange === undefined || ifRange === etag)) {
      const start = Number(range[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` });
        res.end();
        return;
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}`, 'content-length': data.length - start });
      res.end(data.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': data.length });
    res.end(data);
  };
}

/** Send the headers for the whole file and `upTo` bytes of it, then drop the connection. */
function truncating(data: Buffer, upTo: number, etag?: string): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': data.length, ...(etag ? { etag } : {}) });
    res.write(data.subarray(0, upTo), () => setTimeout(() => res.socket?.destroy(), 30));
  };
}

/** Everything left in the cache, relative to it. */
function cacheFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => statSync(join(dir, f)).isFile()).map((f) => f.split('\\').join('/')).sort();
}

/** The error a promise rejects with; a resolution fails the test. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

async function setup(t: Test) {
  const server = await TestServer.start();
  const cacheDir = mkdtempSync(join(tmpdir(), 'vmspec-obtain-'));
  t.teardown(async () => {
    await server.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });
  return { server, cacheDir };
}

t.test('a good download, then a cache hit with the server stopped', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(300_000, 1, 'QFI\xfb');
  const url = server.route('/images/disk.qcow2', serveFile(data));
  const progress: ObtainProgress[] = [];
  const req: ObtainRequest = { source: url, sha256: sha256(data), cacheDir, onProgress: (p) => progress.push(p) };
  const got = await obtainImage(req);
  t.match(got, { source: url, sha256: sha256(data), bytes: data.length, cached: false, downloaded: true, format: 'qcow2', verifiedWith: ['sha256'], resumedFrom: 0 });
  t.ok(readFileSync(got.path).equals(data), 'the cached file holds the bytes served');
  t.equal(got.path, cacheEntryPaths(cacheDir, new URL(url)).image);
  t.match(relative(cacheDir, got.path), /^[0-9a-f]{32}\/disk\.qcow2$/);
  t.same(cacheFiles(cacheDir).map((f) => f.replace(/^[0-9a-f]{32}\//, '')), ['.entry.json', 'disk.qcow2'], 'no .part, .part.json or lock left');
  t.ok(progress.length >= 2, 'progress was reported');
  t.ok(progress.every((p, i) => p.phase === 'download' && p.total === data.length && (i === 0 || p.received >= progress[i - 1]!.received)), 'monotone, with the total');
  t.equal(progress.at(-1)!.received, data.length);

  await server.close();
  const before = server.seen.length;
  const again = await obtainImage({ ...req, onProgress: undefined });
  t.match(again, { path: got.path, sha256: sha256(data), cached: true, downloaded: false, format: 'qcow2' });
  t.equal(server.seen.length, before, 'no request was made');

  const bySha512 = await obtainImage({ source: url, sha512: sha512(data), cacheDir });
  t.match(bySha512, { cached: true, verifiedWith: ['sha512'] }, 'a sha512 pin finds the same entry');
});

t.test('a corrupted download is an error that shows both hashes and leaves nothing in the cache', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(100_000, 2);
  const served = Buffer.from(data);
  served.writeUInt8(served.readUInt8(50_000) ^ 0xff, 50_000);
  const url = server.route('/bad.img', serveFile(served));
  const err = await failure(obtainImage({ source: url, sha256: sha256(data), cacheDir }));
  t.type(err, ChecksumMismatchError);
  t.match(err.message, new RegExp(`sha256 mismatch: expected ${sha256(data)}, got ${sha256(served)}`));
  t.match(err.message, /the file was deleted/);
  t.match((err as UnsupportedError).hint, /run again/);
  t.same(cacheFiles(cacheDir), [], 'no image, no .part, no records');
  t.same(readdirSync(cacheDir), [], 'not even an empty entry directory');
});

t.test('a truncated download is an error; the retry resumes from the .part with Range and succeeds', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(400_000, 3);
  const etag = '"v1"';
  const path = '/trunc.img';
  const url = server.route(path, truncating(data, 150_000, etag));
  const req: ObtainRequest = { source: url, sha256: sha256(data), cacheDir };
  const err = await failure(obtainImage(req));
  t.type(err, UnsupportedError);
  t.match(err.message, /stopped after \d+ of 400000 bytes|ended after \d+ of 400000 bytes/);
  t.match((err as UnsupportedError).hint, /resumes from .*trunc\.img\.part/);
  const paths = cacheEntryPaths(cacheDir, new URL(url));
  t.notOk(existsSync(paths.image), 'nothing unverified at the image path');
  const kept = statSync(paths.part).size;
  t.ok(kept > 0 && kept <= 150_000, `the .part keeps what arrived (${kept} bytes)`);

  server.route(path, serveFile(data, { etag }));
  const got = await obtainImage(req);
  const resumed = server.requestsFor(path).at(-1)!;
  t.equal(resumed.headers.range, `bytes=${kept}-`, 'the retry asked for the rest');
  t.equal(resumed.headers['if-range'], etag, 'guarded by the validator from the first response');
  t.match(got, { downloaded: true, resumedFrom: kept, sha256: sha256(data), bytes: data.length });
  t.ok(readFileSync(got.path).equals(data));
  t.notOk(existsSync(paths.part) || existsSync(paths.partRecord), 'the .part is gone');
});

t.test('a server that ignores Range: a clean restart from byte 0', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(200_000, 4);
  const path = '/norange.img';
  const url = server.route(path, truncating(data, 80_000, '"x"'));
  const req: ObtainRequest = { source: url, sha256: sha256(data), cacheDir };
  await failure(obtainImage(req));
  const part = cacheEntryPaths(cacheDir, new URL(url)).part;
  t.ok(statSync(part).size > 0, 'a .part was kept');

  server.route(path, serveFile(data, { ranges: false }));
  const got = await obtainImage(req);
  t.match(server.requestsFor(path).at(-1)!.headers, { range: /^bytes=\d+-$/ }, 'Range was asked for');
  t.match(got, { resumedFrom: 0, sha256: sha256(data) }, 'and the whole 200 body was taken instead');
  t.ok(readFileSync(got.path).equals(data), 'no old bytes spliced in');
});

t.test('a 206 for the wrong range, or a 416, starts over with a plain GET', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(120_000, 5);
  const path = '/wrongrange.img';
  const url = server.route(path, truncating(data, 40_000, '"w"'));
  const req: ObtainRequest = { source: url, sha256: sha256(data), cacheDir };
  await failure(obtainImage(req));
  const full = serveFile(data, { etag: '"w"' });
  server.route(path, (r, res) => {
    if (r.headers.range) {
      res.writeHead(206, { 'content-range': `bytes 0-${data.length - 1}/${data.length}`, 'content-length': data.length });
      res.end(data);
    } else full(r, res);
  });
  const got = await obtainImage(req);
  const last2 = server.requestsFor(path).slice(-2);
  t.ok(last2[0]!.headers.range && last2[1]!.headers.range === undefined, 'a ranged request, then a plain one');
  t.match(got, { resumedFrom: 0, sha256: sha256(data) });

  // A .part longer than the file (the file shrank upstream): 416, then a plain GET.
  const path2 = '/shrunk.img';
  const url2 = server.route(path2, truncating(data, 60_000, '"s"'));
  const req2: ObtainRequest = { source: url2, sha256: sha256(data.subarray(0, 1000)), cacheDir };
  await failure(obtainImage(req2));
  server.route(path2, serveFile(data.subarray(0, 1000), { etag: '"s"' }));
  const got2 = await obtainImage(req2);
  t.match(got2, { resumedFrom: 0, bytes: 1000 });
  const [ranged, plain] = server.requestsFor(path2).slice(-2);
  t.match(ranged!.headers.range, /^bytes=\d+-$/, 'asked for the rest of the old .part');
  t.ok(Number(/\d+/.exec(ranged!.headers.range!)![0]) > 1000, 'past the end of the new file: 416');
  t.equal(plain!.headers.range, undefined, 'then the whole file');
});

t.test('a SHA256SUMS list (GNU lines) and a CHECKSUM list (BSD lines, PGP-signed)', async (t) => {
  const { server, cacheDir } = await setup(t);
  const a = imageBytes(50_000, 6);
  const b = imageBytes(60_000, 7);
  const urlA = server.route('/ubuntu/noble-server-cloudimg-arm64.img', serveFile(a));
  const urlB = server.route('/fedora/Fedora-Cloud-Base-Generic-42-1.1.aarch64.qcow2', serveFile(b));
  const sums = server.route('/ubuntu/SHA256SUMS', (_r, res) => res.end(`${sha256(b)} *other.img\n${sha256(a)} *noble-server-cloudimg-arm64.img\n`));
  const checksum = server.route('/fedora/CHECKSUM', (_r, res) =>
    res.end(`-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n# Fedora-Cloud-Base-Generic-42-1.1.aarch64.qcow2: ${b.length} bytes\nSHA256 (Fedora-Cloud-Base-Generic-42-1.1.aarch64.qcow2) = ${sha256(b)}\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n`),
  );
  const gotA = await obtainImage({ source: urlA, sumsUrl: sums, cacheDir });
  t.match(gotA, { sha256: sha256(a), verifiedWith: ['sha256'], downloaded: true });
  const gotB = await obtainImage({ source: urlB, sumsUrl: checksum, sumsAlgorithm: 'sha256', cacheDir });
  t.match(gotB, { sha256: sha256(b), verifiedWith: ['sha256'], format: 'raw' });

  const imageRequests = server.requestsFor('/ubuntu/noble-server-cloudimg-arm64.img').length;
  const again = await obtainImage({ source: urlA, sumsUrl: sums, cacheDir });
  t.match(again, { cached: true });
  t.equal(server.requestsFor('/ubuntu/noble-server-cloudimg-arm64.img').length, imageRequests, 'the list is fetched again, the image is not');

  const sha512sums = server.route('/debian/SHA512SUMS', (_r, res) => res.end(`${sha512(a)}  debian-12-genericcloud-arm64.qcow2\n`));
  const urlD = server.route('/debian/debian-12-genericcloud-arm64.qcow2', serveFile(a));
  t.match(await obtainImage({ source: urlD, sumsUrl: sha512sums, sumsAlgorithm: 'sha512', cacheDir }), { verifiedWith: ['sha512'] });

  const notListed = await failure(obtainImage({ source: server.route('/ubuntu/missing.img', serveFile(a)), sumsUrl: sums, cacheDir }));
  t.match(notListed.message, /SHA256SUMS does not list "missing\.img" \(it lists "noble-server-cloudimg-arm64\.img", "other\.img"\)/);
  const wrongAlg = await failure(obtainImage({ source: urlA, sumsUrl: sums, sumsAlgorithm: 'sha512', cacheDir }));
  t.match(wrongAlg.message, /lists "noble-server-cloudimg-arm64\.img" but not with sha512/);
  const conflict = await failure(obtainImage({ source: urlA, sumsUrl: sums, sha256: sha256(b), cacheDir }));
  t.match(conflict.message, new RegExp(`pinned sha256 ${sha256(b)} .* differs from the one .*SHA256SUMS lists \\(${sha256(a)}\\)`));
  const badList = await failure(obtainImage({ source: urlA, sumsUrl: `${server.base}/nowhere/SHA256SUMS`, cacheDir }));
  t.match(badList.message, /nowhere\/SHA256SUMS: HTTP 404/);
  t.match((badList as UnsupportedError).hint, new RegExp(`a verified copy is cached \\(sha256 ${sha256(a)}, downloaded .*\\): pin that sha256`), 'offline: the cached copy is named');
});

t.test('the image name is looked up decoded', async (t) => {
  const { server, cacheDir } = await setup(t);
  const a = imageBytes(10_000, 8);
  const url = server.route('/x/my%20image.img', serveFile(a));
  const sums = server.route('/x/SHA256SUMS', (_r, res) => res.end(`${sha256(a)}  my image.img\n`));
  const got = await obtainImage({ source: url, sumsUrl: sums, cacheDir });
  t.match(relative(cacheDir, got.path), /^[0-9a-f]{32}\/my_image\.img$/);
});

t.test('404 and 500 are clear errors that leave nothing behind', async (t) => {
  const { server, cacheDir } = await setup(t);
  const notFound = await failure(obtainImage({ source: `${server.base}/gone.img`, sha256: 'a'.repeat(64), cacheDir }));
  t.type(notFound, UnsupportedError);
  t.match(notFound.message, new RegExp(`${server.base}/gone\\.img: HTTP 404 Not Found`));
  t.match((notFound as UnsupportedError).hint, /check the URL/);
  server.route('/boom.img', (_r, res) => {
    res.statusCode = 500;
    res.end('oops');
  });
  const boom = await failure(obtainImage({ source: `${server.base}/boom.img`, sha256: 'a'.repeat(64), cacheDir }));
  t.match(boom.message, /boom\.img: HTTP 500 Internal Server Error/);
  t.match((boom as UnsupportedError).hint, /try again later/);
  t.same(readdirSync(cacheDir), []);
});

t.test('redirects are followed; loops and long chains are refused', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(20_000, 9);
  server.route('/real.img', serveFile(data));
  const redirect = (to: string): Handler => (_r, res) => {
    res.writeHead(302, { location: to });
    res.end();
  };
  const url = server.route('/moved/alias.img', redirect('/real.img'));
  const got = await obtainImage({ source: url, sha256: sha256(data), cacheDir });
  t.match(got, { sha256: sha256(data) });
  t.match(relative(cacheDir, got.path), /\/alias\.img$/, 'cached under the URL that was asked for');

  server.route('/loop-a.img', redirect('/loop-b.img'));
  server.route('/loop-b.img', redirect(`${server.base}/loop-a.img`));
  const loop = await failure(obtainImage({ source: `${server.base}/loop-a.img`, sha256: sha256(data), cacheDir }));
  t.match(loop.message, /redirect loop: .*loop-a\.img → .*loop-b\.img → .*loop-a\.img/);

  for (let i = 0; i < 5; i++) server.route(`/hop${i}.img`, redirect(`/hop${i + 1}.img`));
  const far = await failure(obtainImage({ source: `${server.base}/hop0.img`, sha256: sha256(data), cacheDir, maxRedirects: 3 }));
  t.match(far.message, /more than 3 redirects/);
  server.route('/to-ftp.img', redirect('ftp://127.0.0.1/x.img'));
  t.match((await failure(obtainImage({ source: `${server.base}/to-ftp.img`, sha256: sha256(data), cacheDir }))).message, /only http and https are followed/);
});

t.test('size cap: a Content-Length over it, and an over-long body without one', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(50_000, 10);
  const url = server.route('/big.img', serveFile(data));
  const declared = await failure(obtainImage({ source: url, sha256: sha256(data), cacheDir, maxBytes: 10_000 }));
  t.match(declared.message, /over the 10000-byte size limit \(the server says the file is 50000 bytes\)/);
  t.match((declared as UnsupportedError).hint, /raise maxBytes/);
  t.same(cacheFiles(cacheDir), []);

  const chunked = server.route('/stream.img', (_r, res) => {
    res.writeHead(200); // no Content-Length: chunked
    let sent = 0;
    const pump = (): void => {
      while (sent < data.length) {
        const piece = data.subarray(sent, sent + 4096);
        sent += piece.length;
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const long = await failure(obtainImage({ source: chunked, sha256: sha256(data), cacheDir, maxBytes: 10_000 }));
  t.match(long.message, /over the 10000-byte size limit \(the body kept coming past it\)/);
  t.same(cacheFiles(cacheDir), [], 'the partial file is deleted too');
  t.match(await obtainImage({ source: chunked, sha256: sha256(data), cacheDir }), { bytes: data.length }, 'chunked is fine under the cap');
  await t.rejects(obtainImage({ source: url, sha256: sha256(data), cacheDir, maxBytes: -1 }), /maxBytes -1 is not a positive/);
});

t.test('file:// URLs and local paths are used in place, verified when pinned', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(30_000, 11);
  const file = join(cacheDir, 'local disk.img');
  writeFileSync(file, data);
  const viaUrl = await obtainImage({ source: pathToFileURL(file).href, cacheDir: join(cacheDir, 'cache') });
  t.match(viaUrl, { path: file, sha256: sha256(data), bytes: data.length, cached: false, downloaded: false, format: 'raw', verifiedWith: [] });
  const viaPath = await obtainImage({ source: file, sha512: sha512(data) });
  t.match(viaPath, { path: file, verifiedWith: ['sha512'] });
  t.notOk(existsSync(join(cacheDir, 'cache')), 'nothing copied into a cache');

  const sums = join(cacheDir, 'SHA256SUMS');
  writeFileSync(sums, `${sha256(data)}  local disk.img\n`);
  t.match(await obtainImage({ source: file, sumsUrl: pathToFileURL(sums).href }), { verifiedWith: ['sha256'] }, 'a file:// checksum list');

  const wrong = await failure(obtainImage({ source: file, sha256: 'b'.repeat(64) }));
  t.type(wrong, ChecksumMismatchError);
  t.match(wrong.message, new RegExp(`expected ${'b'.repeat(64)}, got ${sha256(data)} \\(local file; left untouched\\)`));
  t.ok(existsSync(file), "the user's file is never deleted");
  t.match((await failure(obtainImage({ source: join(cacheDir, 'absent.img') }))).message, /absent\.img: no such file/);
  t.match((await failure(obtainImage({ source: cacheDir }))).message, /not a regular file/);
  t.equal(server.seen.length, 0);
});

t.test('hostile URL paths never escape the cache', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(5_000, 12);
  const hostile = ['/dl/..%2F..%2F..%2Fescape.img', '/dl/%2e%2e%2fx.img', '/dl/nul%00byte.img', '/dl/back%5Cslash.img', `/dl/${'n'.repeat(240)}.img`, '/dl/.entry.json'];
  for (const path of hostile) {
    const url = server.route(path, serveFile(data));
    const got = await obtainImage({ source: url, sha256: sha256(data), cacheDir });
    const rel = relative(cacheDir, got.path);
    t.match(rel, /^[0-9a-f]{32}\/[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,99}$/, `${path.slice(0, 40)} → ${rel.slice(0, 60)}`);
    t.equal(dirname(dirname(got.path)), cacheDir);
    t.ok(readFileSync(got.path).equals(data));
  }
  t.ok(readdirSync(dirname(cacheDir)).every((f) => f !== 'escape.img'), 'nothing written beside the cache');
  const entries = readdirSync(cacheDir);
  t.equal(entries.length, hostile.length, 'one entry directory per URL');
});

t.test('no checksum: refused before any request, unless unverified downloads are allowed', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(8_000, 13);
  const url = server.route('/plain.img', serveFile(data));
  const err = await failure(obtainImage({ source: url, cacheDir }));
  t.type(err, UnsupportedError);
  t.match(err.message, /refusing to download an image with no checksum/);
  t.match((err as UnsupportedError).hint, /--sha256 HEX or --sha512 HEX .*SHA256SUMS.*--sums .*--allow-unverified/);
  t.equal(server.seen.length, 0, 'no request was made');
  const got = await obtainImage({ source: url, cacheDir, allowUnverified: true });
  t.match(got, { downloaded: true, verifiedWith: [], sha256: sha256(data) });
  t.match(await obtainImage({ source: url, cacheDir, allowUnverified: true }), { cached: true });
});

t.test('a cached file changed on disk is hashed again and replaced, never used', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(40_000, 14);
  const url = server.route('/tamper.img', serveFile(data));
  const req: ObtainRequest = { source: url, sha256: sha256(data), cacheDir };
  const first = await obtainImage(req);
  const tampered = Buffer.from(data);
  tampered.writeUInt8(tampered.readUInt8(100) ^ 1, 100);
  writeFileSync(first.path, tampered);
  const before = server.requestsFor('/tamper.img').length;
  const second = await obtainImage(req);
  t.match(second, { downloaded: true, sha256: sha256(data) });
  t.equal(server.requestsFor('/tamper.img').length, before + 1, 'downloaded again');
  t.ok(readFileSync(second.path).equals(data));

  // Same bytes, lost record (a crash between rename and record): hashed, accepted, no download.
  rmSync(cacheEntryPaths(cacheDir, new URL(url)).entryRecord);
  const progress: ObtainProgress[] = [];
  t.match(await obtainImage({ ...req, onProgress: (p) => progress.push(p) }), { cached: true });
  t.equal(server.requestsFor('/tamper.img').length, before + 1);
  t.ok(progress.length > 0 && progress.every((p) => p.phase === 'verify'), 'verification progress');

  // A different pin for the same URL (the upstream file changed): the new file replaces the old.
  const v2 = imageBytes(40_000, 15);
  server.route('/tamper.img', serveFile(v2));
  t.match(await obtainImage({ ...req, sha256: sha256(v2) }), { downloaded: true, sha256: sha256(v2) });
});

t.test('abort: the .part is kept for resume, or discarded when asked', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(200_000, 16);
  const stall: Handler = (_r, res) => {
    res.writeHead(200, { 'content-length': data.length, etag: '"a"' });
    res.write(data.subarray(0, 64_000)); // then nothing: the client must abort
  };
  const url = server.route('/stall.img', stall);
  const paths = cacheEntryPaths(cacheDir, new URL(url));
  const abortOnFirstBytes = () => {
    const ctl = new AbortController();
    return { signal: ctl.signal, onProgress: (p: ObtainProgress) => (p.received > 0 ? ctl.abort() : undefined) };
  };
  const kept = await failure(obtainImage({ source: url, sha256: sha256(data), cacheDir, ...abortOnFirstBytes() }));
  t.type(kept, DownloadAbortedError);
  t.equal((kept as DownloadAbortedError).partial, paths.part);
  t.match(kept.message, /aborted after \d+ bytes; the partial file .* is kept/);
  t.ok(statSync(paths.part).size > 0);
  t.notOk(existsSync(paths.lock), 'the lock is released');

  const dropped = await failure(obtainImage({ source: url, sha256: sha256(data), cacheDir, discardPartialOnAbort: true, ...abortOnFirstBytes() }));
  t.type(dropped, DownloadAbortedError);
  t.equal((dropped as DownloadAbortedError).partial, undefined);
  t.same(cacheFiles(cacheDir), [], 'nothing left');

  const ctl = new AbortController();
  ctl.abort();
  const early = await failure(obtainImage({ source: url, sha256: sha256(data), cacheDir, signal: ctl.signal }));
  t.type(early, DownloadAbortedError, 'an already-aborted signal stops before downloading');
});

t.test('a silent server hits the idle timeout; the .part is kept', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(100_000, 17);
  const url = server.route('/silent.img', (_r, res) => {
    res.writeHead(200, { 'content-length': data.length, etag: '"s"' });
    res.write(data.subarray(0, 10_000));
  });
  const err = await failure(obtainImage({ source: url, sha256: sha256(data), cacheDir, idleTimeoutMs: 300 }));
  t.type(err, UnsupportedError);
  t.match(err.message, /no data for 0 s|no data for \d+ s/);
  t.ok(existsSync(cacheEntryPaths(cacheDir, new URL(url)).part), 'kept for resume');
  const refused = await failure(obtainImage({ source: 'http://127.0.0.1:1/x.img', sha256: sha256(data), cacheDir }));
  t.match(refused.message, /cannot connect or read: .*ECONNREFUSED/);
});

t.test('a download already in progress elsewhere is refused; a stale lock is taken over', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(10_000, 18);
  const url = server.route('/locked.img', serveFile(data));
  const paths = cacheEntryPaths(cacheDir, new URL(url));
  const { mkdirSync } = await import('node:fs');
  const { hostname } = await import('node:os');
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.lock, JSON.stringify({ pid: process.pid, host: hostname() }));
  const err = await failure(obtainImage({ source: url, sha256: sha256(data), cacheDir }));
  t.match(err.message, new RegExp(`being downloaded by another process \\(pid ${process.pid}`));
  t.match((err as UnsupportedError).hint, /wait for that download to finish, or delete/);
  writeFileSync(paths.lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
  t.match(await obtainImage({ source: url, sha256: sha256(data), cacheDir }), { downloaded: true });
  t.notOk(existsSync(paths.lock));
});

t.test('a .part from another pin is discarded, never resumed', async (t) => {
  const { server, cacheDir } = await setup(t);
  const data = imageBytes(90_000, 19);
  const path = '/repinned.img';
  const url = server.route(path, truncating(data, 30_000, '"r"'));
  await failure(obtainImage({ source: url, sha256: 'c'.repeat(64), cacheDir }));
  server.route(path, serveFile(data, { etag: '"r"' }));
  const got = await obtainImage({ source: url, sha256: sha256(data), cacheDir });
  t.equal(server.requestsFor(path).at(-1)!.headers.range, undefined, 'no Range: the old .part was for another digest');
  t.match(got, { resumedFrom: 0 });
});
