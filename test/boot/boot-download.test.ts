/**
 * `vmspec boot URL` through the CLI against a real HTTP server on
 * 127.0.0.1: the image is downloaded into the cache, verified against the
 * pinned sha256 and then used (--dry-run shows what would boot); a
 * corrupted or truncated download is refused and never used.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../fixtures/cache.js';
import { gptEspThird } from '../fixtures/disk-builder.js';
import { readFileSync } from 'node:fs';

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [join(repoRoot, 'bin', 'vmspec.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const image = readFileSync(gptEspThird());
const sha = createHash('sha256').update(image).digest('hex');
const corrupted = Buffer.from(image);
corrupted.writeUInt8(corrupted.readUInt8(corrupted.length >> 1) ^ 0xff, corrupted.length >> 1);

let server: Server;
const served: string[] = [];
t.before(async () => {
  server = createServer((req, res) => {
    served.push(req.url ?? '');
    if (req.url === '/good.img') {
      res.writeHead(200, { 'content-length': image.length });
      res.end(image);
    } else if (req.url === '/corrupt.img') {
      res.writeHead(200, { 'content-length': corrupted.length });
      res.end(corrupted);
    } else if (req.url === '/truncated.img') {
      res.writeHead(200, { 'content-length': image.length });
      res.write(image.subarray(0, image.length >> 2), () => res.destroy());
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
t.teardown(() => server.close());
const url = (p: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${p}`;

t.test('a pinned download is fetched, verified, cached and used', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'vmspec-dl-'));
  t.teardown(() => rmSync(cache, { recursive: true, force: true }));
  const r = await run(['boot', url('/good.img'), '--sha256', sha, '--cache-dir', cache, '--cloud-init', 'off', '--dry-run']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`image: +${url('/good.img').replace(/[.?*+^$]/g, '\\$&')} \\(raw, sha256 ${sha}\\)`));
  const path = /^ {13}(\/\S+)$/m.exec(r.stdout)?.[1];
  t.ok(path?.startsWith(join(cache, 'images')), 'the image lives in the cache', { stdout: r.stdout });
  const again = await run(['boot', url('/good.img'), '--sha256', sha, '--cache-dir', cache, '--cloud-init', 'off', '--dry-run']);
  t.equal(again.code, 0);
  t.equal(served.filter((u) => u === '/good.img').length, 1, 'the second run uses the cache without a request');
});

t.test('a corrupted or truncated download is refused and never used', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'vmspec-dl-'));
  t.teardown(() => rmSync(cache, { recursive: true, force: true }));
  const bad = await run(['boot', url('/corrupt.img'), '--sha256', sha, '--cache-dir', cache, '--cloud-init', 'off', '--dry-run']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, new RegExp(`sha256 mismatch: expected ${sha}, got [0-9a-f]{64}`));
  t.notMatch(bad.stdout, /image:/, 'nothing was booted');
  const short = await run(['boot', url('/truncated.img'), '--sha256', sha, '--cache-dir', cache, '--cloud-init', 'off', '--dry-run']);
  t.equal(short.code, 2);
  t.match(short.stderr, /truncated|ended|closed|short|premature/i, 'the truncation is named');
  const files = readdirSync(join(cache, 'images'), { recursive: true }).map(String);
  t.notOk(files.some((f) => /\.(img|qcow2)$/.test(f)), 'no complete-looking image is in the cache', { files });
});

t.test('no checksum: refused before any request, with the flags that fix it', async (t) => {
  const before = served.length;
  const r = await run(['boot', url('/good.img'), '--cloud-init', 'off', '--dry-run']);
  t.equal(r.code, 2);
  t.match(r.stderr, /no checksum[\s\S]*--sha256 HEX[\s\S]*--sums[\s\S]*--allow-unverified/);
  t.equal(served.length, before, 'no request was made');
});
