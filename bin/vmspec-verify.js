#!/usr/bin/env node
'use strict';
// `vmspec verify` under a name of its own (bin/bundle-loader.cjs loads the bundle; CommonJS: bin/package.json).
const main = require('./bundle-loader.cjs').loadMain('vmspec-verify');
main([process.argv[0], process.argv[1], 'verify', ...process.argv.slice(2)]);
