import t from 'tap';
import * as zlibModule from 'node:zlib';
import * as cryptoModule from 'node:crypto';
import * as childProcessModule from 'node:child_process';
import { childProcess, crypto, zlib } from '../../bytes/lazy-builtins.js';

// Which built-ins a start loads is test/cli/start-up.test.ts's; here: they are Node's own modules, once.
t.test('zlib(), crypto() and childProcess() are those Node modules, loaded once', async (t) => {
  t.equal(zlib().inflateRawSync, zlibModule.inflateRawSync);
  t.equal(zlib(), zlib(), 'the same module every call');
  t.same([...zlib().gunzipSync(zlibModule.gzipSync(Buffer.from('vmspec')))], [...Buffer.from('vmspec')], 'it works');
  t.equal(crypto().createHash, cryptoModule.createHash);
  t.equal(crypto().createHash('sha256').update('abc').digest('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'FIPS 180-2 example "abc"');
  t.equal(childProcess().spawn, childProcessModule.spawn);
  t.equal(childProcess().spawnSync('/bin/echo', ['ok'], { encoding: 'utf8' }).stdout, 'ok\n', 'it works');
});
