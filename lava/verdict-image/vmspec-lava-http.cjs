// vmspec-lava-http.cjs get URL OUT | put FILE URL: shipped in the verdict
// image beside vmspec-lava-verdict (scripts/lava-verdict-image.sh), which
// runs it in the verdict step of a shell job to GET the guest's bundle and
// PUT the results beside it. Node's own fetch, so the image needs no curl.
//
// As `curl -fsS --retry N` did: a status outside 2xx is a failure (the
// body is not kept), transient failures (network errors, 5xx, 408, 429)
// are retried, each attempt has a time limit. Exit 0 done, 1 failed, 2 usage.
'use strict';
const { readFileSync, writeFileSync, renameSync, rmSync } = require('node:fs');

const MAX_BYTES = 1024 * 1024 * 1024; // a bundle is a few MB; refuse anything absurd
const [mode, a, b] = process.argv.slice(2);
if (!((mode === 'get' || mode === 'put') && a && b)) {
  console.error('usage: node vmspec-lava-http.cjs get URL OUT | put FILE URL');
  process.exit(2);
}
const url = mode === 'get' ? a : b;
if (!/^https?:\/\//i.test(url)) {
  console.error(`vmspec-lava-http: ${url} is not an http(s) URL`);
  process.exit(2);
}
const attempts = mode === 'get' ? 6 : 4;
const timeoutMs = (mode === 'get' ? 600 : 300) * 1000;
const transient = (status) => status >= 500 || status === 408 || status === 429;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function once() {
  const init = { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' };
  if (mode === 'put') Object.assign(init, { method: 'PUT', body: readFileSync(a) });
  const res = await fetch(url, init);
  if (!res.ok) {
    await res.arrayBuffer().catch(() => undefined);
    return { ok: false, retry: transient(res.status), why: `HTTP ${res.status} ${res.statusText}` };
  }
  if (mode === 'get') {
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > MAX_BYTES) return { ok: false, retry: false, why: `${length} bytes is more than ${MAX_BYTES}` };
    const body = Buffer.from(await res.arrayBuffer());
    if (body.length > MAX_BYTES) return { ok: false, retry: false, why: `${body.length} bytes is more than ${MAX_BYTES}` };
    writeFileSync(`${b}.part`, body);
    renameSync(`${b}.part`, b);
  } else {
    await res.arrayBuffer();
  }
  return { ok: true };
}

(async () => {
  for (let i = 1; i <= attempts; i++) {
    let r;
    try {
      r = await once();
    } catch (e) {
      r = { ok: false, retry: true, why: e && e.cause ? `${e.message}: ${e.cause.code || e.cause.message}` : String(e && e.message) };
    }
    if (r.ok) return;
    console.error(`vmspec-lava-http: ${mode.toUpperCase()} ${url}: ${r.why}${r.retry && i < attempts ? ' (retrying)' : ''}`);
    if (!r.retry || i === attempts) break;
    await sleep(Math.min(2000 * i, 10000));
  }
  if (mode === 'get') rmSync(`${b}.part`, { force: true });
  process.exit(1);
})();
