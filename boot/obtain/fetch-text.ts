import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { UnsupportedError } from '../../bytes/errors.js';
import { httpGet } from './http-get.js';

export interface FetchTextOptions {
  maxBytes: number;
  idleTimeoutMs: number;
  maxRedirects: number;
  signal?: AbortSignal;
}

/** A small text file (a checksum list) from http(s):// or file://, refused beyond maxBytes. */
export async function fetchText(url: URL, opts: FetchTextOptions): Promise<string> {
  if (url.protocol === 'file:') return readLocalText(url, opts.maxBytes);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UnsupportedError(`${url.href}: ${url.protocol} URLs are not supported for checksum lists`, 'use an http://, https:// or file:// URL');
  }
  const res = await httpGet(url, opts);
  try {
    if (res.status !== 200) throw new UnsupportedError(`${url.href}: HTTP ${res.status} for a plain GET`, 'the server answered a request it was not sent; try again later');
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > opts.maxBytes) throw tooLarge(url, opts.maxBytes, declared);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > opts.maxBytes) throw tooLarge(url, opts.maxBytes);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (e) {
    if (e instanceof UnsupportedError || (e as Error).name === 'AbortError') throw e;
    throw new UnsupportedError(`${url.href}: download failed: ${(e as Error).message}`, 'check the network and try again');
  } finally {
    res.close();
  }
}

async function readLocalText(url: URL, maxBytes: number): Promise<string> {
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch (e) {
    throw new UnsupportedError(`${url.href}: ${(e as Error).message}`, 'a file:// URL must name a file on this machine (file:///path)');
  }
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new UnsupportedError(`${path}: cannot read the checksum list: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check the path');
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UnsupportedError(`${path}: not a regular file`, 'point the sums URL at the checksum file');
    if (st.size > maxBytes) throw tooLarge(url, maxBytes, st.size);
    return (await fh.readFile()).toString('utf8');
  } finally {
    await fh.close();
  }
}

function tooLarge(url: URL, max: number, size?: number): UnsupportedError {
  return new UnsupportedError(`${url.href}: ${size !== undefined ? `${size} bytes` : 'the body'} is over the ${max}-byte limit for a checksum list`, 'point the sums URL at the SHA256SUMS/SHA512SUMS/CHECKSUM file, not at the image');
}
