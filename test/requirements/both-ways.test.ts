/**
 * Every automated clause is proven both ways: a real input it passes and a
 * real input it fails.
 *
 * How a test declares coverage: only through the fault matrix
 * (test/verdicts/faults.ts), whose every entry fault-matrix.test.ts judges
 * with the real engine and checks exactly:
 *   - PASS: the clause is in some baseline's `passes[spec]` (asserted to pass);
 *   - FAIL: the clause is in some fault's `fails[spec]` (asserted to be
 *     exactly what the fault fails beyond its baseline), or in a baseline's
 *     `fails[spec]` (a compliant configuration that still fails it, asserted
 *     exactly, e.g. an ACPI boot has no DT configuration table).
 * A mention anywhere else (a comment, another test) counts for nothing.
 *
 * "Automated" is read from the loaded specs (sameCheckAs resolved): every
 * requirement with a probe. A clause that cannot be covered yet is listed in
 * PENDING with the reason; the test fails if a pending clause gains coverage
 * (drop it from the list) or if any other clause lacks it.
 */
import t from 'tap';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { BASELINES, FAULTS, SPECS, type Baseline, type SpecId } from '../verdicts/faults.js';

type Side = 'pass' | 'fail';

/** Clauses without a matrix entry yet, and why (kept short; the report of issue #14 has the detail). */
const PENDING: Record<string, { lacks: Side[]; why: string }> = {
  // Judged from what `vmspec boot` itself records (probe host.boot) or the configured VM: proven both ways by whole
  // boots outside the matrix (docs/verdicts.md, "Faults proven by whole boots"), not by a matrix entry yet.
  'V2-FW-VARS-PERSIST-HOST': { lacks: ['pass', 'fail'], why: 'host.boot: pass and fail (nonce changed in the store; no store) in test/boot/capability-boots.test.ts and test/boot/firmware/single-image.test.ts' },
  'V2-PLAT-UART-HOST': { lacks: ['pass', 'fail'], why: 'host.boot: pass and fail (UART without the collector\'s lines) in test/boot/capability-boots.test.ts' },
  'V2-ARCH-PSCI-HOST': { lacks: ['pass', 'fail'], why: 'host.boot: pass and fail (a VM the host had to stop) in test/boot/capability-boots.test.ts' },
  'V2-ARCH-PSCI-RESET-HOST': { lacks: ['pass', 'fail'], why: 'host.boot: pass (the default run) in test/boot/boot-command.test.ts, fail (a reset that powers the VM off, -no-reboot) in test/boot/reset-boot.test.ts' },
  'V1-FW-VARS-PERSIST-HOST': { lacks: ['pass', 'fail'], why: 'host.boot: pass and fail (--no-persistent-vars) on real v1 boots in test/probes/host/v1-host-clauses.test.ts' },
  'V1-PLAT-CONSOLE-HOST': { lacks: ['pass', 'fail'], why: 'host.boot, the v2 UART-HOST check (sameCheckAs): pass and fail (a --qemu wrapper whose UART stops carrying the guest once its init writes) on real v1 boots in test/probes/host/v1-host-clauses.test.ts' },
  'V2-FW-NO-PRESET-BOOTVARS-HOST': { lacks: ['pass', 'fail'], why: 'host.boot: pass (the default run from a fresh store) in test/boot/boot-command.test.ts, fail (the loader moved off the removable path) in test/boot/removable-boot-host.test.ts' },
  'V1-FW-NO-PRESET-BOOTVARS-HOST': { lacks: ['pass', 'fail'], why: 'as V2-FW-NO-PRESET-BOOTVARS-HOST (sameCheckAs): pass on real v1 boots in test/probes/host/v1-host-clauses.test.ts, fail in test/boot/removable-boot-host.test.ts' },
  'V2-PLAT-DISCOVERABLE': { lacks: ['pass', 'fail'], why: 'compares the VM vmspec boot configured with the evidence: pass and fail (a vCPU, memory or a disk not described) in test/probes/host/discovery.test.ts' },
  'V1-PLAT-DISCOVERABLE': { lacks: ['pass', 'fail'], why: 'as V2-PLAT-DISCOVERABLE (sameCheckAs), in test/probes/host/discovery.test.ts' },
  'V2-FW-RTC-ACCURACY': { lacks: ['pass', 'fail'], why: 'informative: pass and fail (a clock a day off) in test/requirements/spec-wording.test.ts' },
};

interface Clause {
  spec: SpecId;
  id: string;
}

const automated: Clause[] = [];
const known = new Map<SpecId, Set<string>>();
for (const spec of SPECS) {
  const set = loadSpecOrThrow(spec);
  known.set(spec, new Set(set.requirements.map((r) => r.id)));
  for (const r of set.requirements) if (r.probe) automated.push({ spec, id: r.id });
}

const baselines = Object.values(BASELINES) as Baseline[];
const covered = (c: Clause, side: Side): string[] => {
  if (side === 'pass') return baselines.filter((b) => b.passes[c.spec].includes(c.id)).map((b) => `baseline ${b.id}`);
  return [
    ...FAULTS.filter((f) => !f.refused && f.fails[c.spec].includes(c.id)).map((f) => `fault ${f.id}`),
    ...baselines.filter((b) => b.fails[c.spec].includes(c.id)).map((b) => `baseline ${b.id} (known failure)`),
  ];
};

t.test('the specs have automated clauses to cover', async (t) => {
  t.ok(automated.filter((c) => c.spec === 'vmspec-v2').length >= 30, 'vmspec-v2');
  t.ok(automated.filter((c) => c.spec === 'vmspec-v1').length >= 30, 'vmspec-v1');
});

t.test('every clause the matrix names exists in its spec and is automated', async (t) => {
  const isAutomated = (spec: SpecId, id: string) => automated.some((c) => c.spec === spec && c.id === id);
  for (const spec of SPECS) {
    for (const b of baselines) {
      for (const id of [...b.passes[spec], ...b.fails[spec]]) t.ok(isAutomated(spec, id), `baseline ${b.id}: ${id} is an automated ${spec} clause`);
    }
    for (const f of FAULTS) for (const id of f.fails[spec]) t.ok(isAutomated(spec, id), `fault ${f.id}: ${id} is an automated ${spec} clause`);
  }
  for (const id of Object.keys(PENDING)) t.ok([...known.values()].some((s) => s.has(id)), `pending ${id} exists`);
});

t.test('fault ids are unique and every fault names its clauses for every spec', async (t) => {
  const ids = FAULTS.map((f) => f.id);
  t.same(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'no duplicate fault ids');
  for (const f of FAULTS) {
    for (const spec of SPECS) t.ok(Array.isArray(f.fails[spec]), `${f.id}: fails[${spec}] is declared`);
    if (!f.refused) t.ok(SPECS.some((s) => f.fails[s].length > 0), `${f.id}: fails at least one clause`);
  }
});

for (const c of automated) {
  const pending = PENDING[c.id];
  t.test(`${c.id} (${c.spec}) is proven both ways`, async (t) => {
    for (const side of ['pass', 'fail'] as const) {
      const by = covered(c, side);
      if (pending?.lacks.includes(side)) {
        t.same(by, [], `${side}: pending (${pending.why}); once covered, drop it from PENDING`);
        t.comment(`PENDING ${c.id} ${side}: ${pending.why}`);
      } else {
        t.ok(by.length > 0, `${side}: ${by.join(', ') || 'no matrix entry declares it'}`);
      }
    }
  });
}
