'use strict';
// Build step, run by build/bundle.ts in a child Node: writes V8's code cache for dist/bundle/main.cjs.
// V8 caches the functions compiled so far, and compiles lazily, so the cache is made after warm-up runs
// of the common commands (output discarded): their code is then deserialised, not compiled, at start.
// The verify runs read a disk shaped like a distro's (build/warm-up-image.cjs) so the readers a real
// image needs are compiled too: on the reference image that is ~15 % of vmspec's own start-up work.
// (`--no-lazy` would compile everything, but V8 rejects a cache made under other flags.)
const { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { warmUpImage } = require('./warm-up-image.cjs');
const { join } = require('node:path');
const { Script } = require('node:vm');
const Module = require('node:module');

const [file, out] = process.argv.slice(2);
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file });
const bundle = { exports: {}, filename: file, id: file, loaded: false };
script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, join(file, '..'));

const work = mkdtempSync(join(tmpdir(), 'vmspec-code-cache-'));
const image = join(work, 'blank.img');
writeFileSync(image, Buffer.alloc(1 << 20));
const shaped = warmUpImage(work);
if (typeof shaped !== 'string') process.stderr.write(`build: code cache warmed on a blank disk only (${shaped.why}); vmspec starts slower\n`);
const runs = [
  ...(typeof shaped === 'string' ? [['verify', shaped, '--format', 'json'], ['verify', shaped]] : []),
  ['verify', image], ['verify', image, '--format', 'json'], ['spec', 'list'], ['--help'],
];
process.stdout.write = () => true; // commander and spinners; reports go to fd 1, which the build discards
process.stderr.write = () => true;
(async () => {
  try {
    for (const args of runs) await bundle.exports.main([process.execPath, 'vmspec', ...args]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  writeFileSync(`${out}.tmp`, script.createCachedData());
  renameSync(`${out}.tmp`, out);
  process.exitCode = 0;
})();
