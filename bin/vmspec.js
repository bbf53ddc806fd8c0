#!/usr/bin/env node
'use strict';
// The vmspec CLI. Runs the bundle `npm run build` writes to dist/bundle/ (build/bundle.ts, bin/bundle-loader.cjs).
// CommonJS (bin/package.json): an ES module entry would cost the ESM loader's start on every run.
const args = process.argv.slice(2);
// `vmspec --version` alone answers without loading the CLI (what commander would print, from the
// same package.json as package/version.ts): the bundle would cost a bare start's time again.
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${require('../package.json').version}\n`);
  process.exit(0);
}
require('./bundle-loader.cjs').loadMain('vmspec')(process.argv);
