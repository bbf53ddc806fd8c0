import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from '../../../bytes/errors.js';
import { parseAcpiTable } from '../../../probes/acpi/tables.js';
import { QEMU_VARIANTS, armDataTables, iaslTemplates, mutate, qemuVirtAcpi } from '../../fixtures/acpi-tables.js';
import { prng as rng } from '../../fixtures/prng.js';


function tables(): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  for (const [variant, machine] of Object.entries(QEMU_VARIANTS)) {
    const q = qemuVirtAcpi(machine);
    for (const [sig, f] of Object.entries(q.tables)) if (sig !== 'DSDT') out.push([`qemu ${variant} ${sig}`, new Uint8Array(readFileSync(join(q.dir, f)))]);
  }
  for (const dir of [iaslTemplates(), armDataTables()]) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.aml') && !/^(dsdt|ssdt)/.test(n))) out.push([f, new Uint8Array(readFileSync(join(dir, f)))]);
  }
  return out;
}

/** Parse; anything but success or a ParseError is a bug. Successful results must be plain JSON. */
function tryParse(bytes: Uint8Array): 'ok' | 'parse-error' {
  try {
    const r = parseAcpiTable(bytes);
    JSON.stringify(r);
    return 'ok';
  } catch (e) {
    if (e instanceof ParseError) return 'parse-error';
    throw e;
  }
}

t.test('truncation at every length: success or ParseError, nothing else', async (t) => {
  let n = 0;
  for (const [name, bytes] of tables()) {
    for (let cut = 0; cut < bytes.length; cut++) {
      const head = bytes.subarray(0, cut);
      tryParse(head); // Length now exceeds the buffer
      if (cut >= 36) tryParse(mutate(head, (dv) => dv.setUint32(4, cut, true))); // Length agrees: structures cut short
      n++;
    }
    t.pass(name);
  }
  t.ok(n > 5000, `${n} truncations`);
});

t.test('random byte corruption: success or ParseError, and quickly', async (t) => {
  const random = rng(0x5eed);
  let errors = 0;
  let oks = 0;
  const start = Date.now();
  for (const [name, bytes] of tables()) {
    for (let i = 0; i < 300; i++) {
      const flips = 1 + Math.floor(random() * 4);
      const m = mutate(bytes, (_, b) => {
        for (let k = 0; k < flips; k++) {
          // Bias towards the header and the first structures, where counts and lengths live.
          const at = Math.floor(random() < 0.5 ? random() * Math.min(b.length, 120) : random() * b.length);
          b[at] = random() < 0.3 ? [0, 0xff, 1, 0x7f][Math.floor(random() * 4)] ?? 0 : Math.floor(random() * 256);
        }
      }, random() < 0.8);
      if (tryParse(m) === 'ok') oks++;
      else errors++;
    }
    t.pass(name);
  }
  t.ok(oks > 0 && errors > 0, `${oks} parsed, ${errors} rejected`);
  t.ok(Date.now() - start < 60_000, 'no pathological slowness');
});
