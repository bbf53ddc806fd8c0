'use strict';
// Loads the CLI bundle (build/bundle.ts) with the V8 code cache the build wrote next to it: a run then
// deserialises compiled code instead of parsing and compiling ~1 MB of JavaScript. A cache from another
// V8 (another Node) is rejected by V8 itself and the bundle is compiled as usual; nothing is written here.
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');
const Module = require('node:module');

const dir = join(__dirname, '..', 'dist', 'bundle');
const file = join(dir, 'main.cjs');

/** The CLI's `main(argv)`; exits 2 with a hint when vmspec was not built. */
exports.loadMain = function loadMain(command) {
  if (!existsSync(file)) {
    process.stderr.write(`${command}: not built yet: run \`npm ci && npm run build\` in the vmspec directory\n`);
    process.exit(2);
  }
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.v8cache`);
  } catch {
    // no cache: compile
  }
  // The bundle is ASCII (build/bundle.ts checks): read as latin1 it becomes V8's one-byte string without UTF-8 decoding.
  const wrapper = new Script(Module.wrap(readFileSync(file, 'latin1')), { filename: file, cachedData }).runInThisContext();
  const module = { exports: {}, filename: file, id: file, loaded: false };
  wrapper.call(module.exports, module.exports, Module.createRequire(file), module, file, dir);
  return module.exports.main;
};
