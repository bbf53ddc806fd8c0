import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { UnsupportedError } from '../../bytes/errors.js';
import { TOOL_VERSION } from '../../package/version.js';

export interface HttpGetOptions {
  /** Extra request headers (Range, If-Range). */
  headers?: Record<string, string>;
  /** Longest silence allowed: connecting, waiting for headers, or between body chunks. */
  idleTimeoutMs: number;
  /** Redirects followed before giving up. */
  maxRedirects: number;
  signal?: AbortSignal;
}

/** A response whose status the caller handles: 200, 206 or 416. Every other status has already become an error. */
export interface HttpResponse {
  /** The URL that answered, after redirects. */
  url: URL;
  status: 200 | 206 | 416;
  headers: IncomingHttpHeaders;
  /** The body; it errors on a dropped connection, the idle timeout or the abort signal. */
  body: IncomingMessage;
  /** Stop reading and free the socket. */
  close(): void;
}

/** One response, before httpGet has decided what its status means. */
type AnyResponse = Omit<HttpResponse, 'status'> & { status: number };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const isHandled = (r: AnyResponse): r is HttpResponse => r.status === 200 || r.status === 206 || r.status === 416;

/**
 * GET over node:http/https with redirects (bounded, loop-checked, never
 * from https down to http), an idle timeout and an AbortSignal. No
 * compression is asked for, so the body is the file's own bytes.
 */
export async function httpGet(start: URL, opts: HttpGetOptions): Promise<HttpResponse> {
  const chain: string[] = [start.href];
  let url = start;
  for (;;) {
    const res = await requestOnce(url, opts);
    if (isHandled(res)) return res;
    const status = res.status;
    res.close();
    if (!REDIRECTS.has(status)) throw statusError(start, url, status, res.body.statusMessage ?? '');
    const location = res.headers.location;
    if (!location) throw new UnsupportedError(`${url.href}: HTTP ${status} redirect without a Location header`, 'the server is misconfigured; download the image by hand and pass its path');
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new UnsupportedError(`${url.href}: HTTP ${status} redirects to "${location.slice(0, 200)}", which is not a URL`, 'the server is misconfigured; download the image by hand and pass its path');
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new UnsupportedError(`${url.href}: redirects to ${next.protocol} URL ${next.href.slice(0, 200)}; only http and https are followed`, 'download the image by hand and pass its path');
    }
    if (url.protocol === 'https:' && next.protocol === 'http:') {
      throw new UnsupportedError(`${url.href}: redirects from https down to plain http (${next.href.slice(0, 200)}); refused`, 'use an https mirror, or give the http URL yourself with a pinned sha256');
    }
    if (chain.includes(next.href)) {
      throw new UnsupportedError(`${start.href}: redirect loop: ${[...chain, next.href].join(' → ')}`, 'the server redirects in a circle; report it to the site, or use a mirror URL');
    }
    chain.push(next.href);
    if (chain.length - 1 > opts.maxRedirects) {
      throw new UnsupportedError(`${start.href}: more than ${opts.maxRedirects} redirects (last: ${next.href})`, 'give the final URL directly');
    }
    url = next;
  }
}

function statusError(start: URL, url: URL, status: number, message: string): UnsupportedError {
  const where = url.href === start.href ? url.href : `${start.href} (redirected to ${url.href})`;
  const text = `${where}: HTTP ${status}${message ? ` ${message}` : ''}`;
  if (status === 404 || status === 410) return new UnsupportedError(text, 'check the URL; the image may have been removed upstream (pick a current release or update the reference)');
  if (status === 401 || status === 403) return new UnsupportedError(text, 'the server refuses access; download the image by hand and pass its path');
  if (status === 429 || status >= 500) return new UnsupportedError(text, 'the server failed or is overloaded; try again later (a partial download is kept and resumed)');
  return new UnsupportedError(text, 'the server did not send the file; check the URL');
}

function requestOnce(url: URL, opts: HttpGetOptions): Promise<AnyResponse> {
  return new Promise((resolve, reject) => {
    const { signal } = opts;
    if (signal?.aborted) {
      reject(abortError(url));
      return;
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let req: ClientRequest;
    let res: IncomingMessage | undefined;
    const onAbort = (): void => {
      const err = abortError(url);
      res?.destroy(err);
      req.destroy(err);
    };
    const cleanup = (): void => signal?.removeEventListener('abort', onAbort);
    try {
      req = send(url, {
        method: 'GET',
        headers: { 'user-agent': `vmspec/${TOOL_VERSION}`, 'accept-encoding': 'identity', ...opts.headers },
      });
    } catch (e) {
      reject(new UnsupportedError(`${url.href}: cannot send the request: ${(e as Error).message}`, 'check the URL'));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    req.setTimeout(opts.idleTimeoutMs, () => {
      const err = new UnsupportedError(
        `${url.href}: no data for ${Math.round(opts.idleTimeoutMs / 1000)} s; the connection was closed`,
        'check the network, then run again (a partial download is kept and resumed)',
      );
      res?.destroy(err);
      req.destroy(err);
    });
    req.on('error', (e) => {
      cleanup();
      if (res) return; // the body stream reports it
      reject(e instanceof UnsupportedError || (e as Error).name === 'AbortError' ? e : networkError(url, e as NodeJS.ErrnoException));
    });
    req.on('response', (r) => {
      res = r;
      r.on('close', cleanup);
      resolve({
        url,
        status: r.statusCode ?? 0,
        headers: r.headers,
        body: r,
        close: () => {
          cleanup();
          r.destroy();
          req.destroy();
        },
      });
    });
    req.end();
  });
}

function networkError(url: URL, e: NodeJS.ErrnoException): UnsupportedError {
  const code = e.code ? ` (${e.code})` : '';
  return new UnsupportedError(`${url.href}: cannot connect or read: ${e.message}${code && !e.message.includes(e.code!) ? code : ''}`, 'check the network and the URL, then run again (a partial download is kept and resumed)');
}

function abortError(url: URL): Error {
  const e = new Error(`request for ${url.href} aborted`);
  e.name = 'AbortError';
  return e;
}
