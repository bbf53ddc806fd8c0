/**
 * The evaluator on a real guest disk (GPT, ESP with Debian's GRUB, ext4
 * root with a kernel and a gzip initrd): probes run once per (name,
 * params); a probe's `prepare` (image.kernel-drivers starts listing the
 * initrd) runs before any requirement is evaluated and changes no result;
 * what a prepare step still has under way is waited for (`ready`) or
 * given turns of the event loop between clauses (`handing`).
 */
import t from 'tap';
import { evaluate } from '../../engine/evaluate.js';
import { openDisk } from '../../probes/image/open-disk.js';
import { PARTITION_TABLE_MEMO_KEY } from '../../probes/image/partition-table.js';
import { defineProbe, Memo, type Prepared } from '../../probes/types.js';
import { bool, int, obj } from '../../probes/facts-schema.js';
import type { ProbeEntry } from '../../probes/table.js';
import type { DiskImage } from '../../probes/image/disk.js';
import type { Requirement } from '../../requirements/requirement.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { buildInitrd, buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk } from '../fixtures/rootfs-builder.js';
import { cachedDir } from '../fixtures/cache.js';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const unavailable = fastFixturesUnavailable();

/** A memo that records which keys are asked for, in order. */
class RecordingMemo extends Memo {
  readonly keys: string[] = [];
  override get<T>(key: string, compute: () => T): T {
    this.keys.push(key);
    return super.get(key, compute);
  }
}

const strip = (rs: { durationMs?: number }[]): unknown[] => rs.map((r) => ({ ...r, durationMs: 0 }));

t.test('prepare runs first, and the results are those of each clause evaluated alone', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const image = guestDisk({
    name: 'evaluate-prepare',
    rootContent: buildSyntheticRoot({ name: 'evaluate-prepare', kernels: [{ kernel: k, initrd: { modules: ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_balloon', 'ext4'], compression: 'gzip', early: false } }], grubCfg: debianGrubCfg([k.version]) }).image,
  });
  const spec = loadSpecOrThrow('vmspec-v2');
  const req = (id: string) => spec.requirements.find((r) => r.id === id)!;
  // A partition-table clause first, then one whose probe (image.kernel-drivers) prepares.
  const reqs = [req('V2-IMG-GPT'), req('V2-GUEST-VIRTIO-PCI')];
  t.equal(reqs[1]!.probe, 'image.kernel-drivers', 'the second clause is judged by image.kernel-drivers');

  const disk = openDisk(image);
  t.teardown(() => disk.close());
  const memo = new RecordingMemo();
  const together = await evaluate(reqs, { image: disk, memo });
  const initrdKey = memo.keys.findIndex((k) => k.startsWith('rootfs.initrd:'));
  t.ok(initrdKey >= 0, 'the initrd was listed');
  t.equal(memo.keys[0], 'rootfs.likely-initrd', "the first thing asked for is the initrd kernel-drivers' prepare lists before the boot chain is followed");
  const viewKey = memo.keys.indexOf('rootfs.guest-view');
  t.ok(viewKey > 0 && viewKey < initrdKey, 'then the guest view (the boot chain), which names the initrd listed');
  t.ok(memo.keys.indexOf(PARTITION_TABLE_MEMO_KEY, initrdKey) > initrdKey, "the initrd's listing started before the partition-table clause's probe ran");
  const detailsKey = memo.keys.findIndex((k) => k.startsWith('rootfs.kernel-details:'));
  t.ok(detailsKey > initrdKey && detailsKey < memo.keys.indexOf(PARTITION_TABLE_MEMO_KEY, initrdKey), "the kernel's configuration and modules were read in prepare, after the initrd was started, before any clause");
  t.match(together[1], { status: 'pass', observed: { options: { CONFIG_VIRTIO_PCI: { available: 'initrd' } }, initrd: { segments: ['gzip at 0'] } } });

  const alone = [];
  for (const r of reqs) {
    const d = openDisk(image);
    try {
      alone.push(...(await evaluate([r], { image: d })));
    } finally {
      d.close();
    }
  }
  t.same(strip(together), strip(alone), 'the same results as each clause evaluated on its own');
});

t.test('a damaged initrd: what prepare started fails in run, as without it', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const modules = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_balloon'];
  const good = buildInitrd({ kernel: k, modules, compression: 'gzip' });
  // The gzip stream cut in half: the initrd's listing fails with a gzip error.
  const cutDir = cachedDir('evaluate-cut-initrd', { v: 1, good, size: statSync(good).size }, (d) => {
    writeFileSync(join(d, 'initrd.img'), readFileSync(good).subarray(0, Math.floor(statSync(good).size / 2)));
  });
  const image = guestDisk({
    name: 'evaluate-cut-initrd',
    rootContent: buildSyntheticRoot({ name: 'evaluate-cut-initrd', kernels: [{ kernel: k, initrd: { modules, compression: 'gzip' } }], grubCfg: debianGrubCfg([k.version]), copies: { [`boot/initrd.img-${k.version}`]: join(cutDir, 'initrd.img') } }).image,
  });
  const spec = loadSpecOrThrow('vmspec-v2');
  const reqs = [spec.requirements.find((r) => r.id === 'V2-IMG-GPT')!, spec.requirements.find((r) => r.id === 'V2-GUEST-VIRTIO-PCI')!];
  const disk = openDisk(image);
  t.teardown(() => disk.close());
  const results = await evaluate(reqs, { image: disk });
  t.equal(results[0]!.status, 'pass', 'the other clause is judged');
  t.match(results[1], { status: 'error', message: /probe image\.kernel-drivers could not run: .*gzip stream/ }, 'the clause errors with the gzip damage');
});

t.test('nothing is prepared for an input not given', async (t) => {
  const spec = loadSpecOrThrow('vmspec-v2');
  const memo = new RecordingMemo();
  const results = await evaluate([spec.requirements.find((r) => r.id === 'V2-GUEST-VIRTIO-PCI')!], { memo });
  t.same(memo.keys, [], 'no probe read anything');
  t.equal(results[0]!.status, 'skip');
});

/** One turn of the event loop. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface TurnState {
  steps: number;
  ready: boolean;
}

/** A probe with the given prepare step; its run reports `state` as it stands, synchronously, as the real probes do. */
function turnsProbe(state: TurnState, prepare: () => Prepared | void): { lookup: (name: string) => ProbeEntry | undefined; seen: TurnState[] } {
  const seen: TurnState[] = [];
  const probe = defineProbe({
    name: 'test.turns',
    summary: 'reports the state its prepare step left',
    input: 'image',
    params: obj({ n: int() }),
    facts: obj({ steps: int(), ready: bool() }),
    prepare,
    run() {
      const now = { ...state };
      seen.push(now);
      return now;
    },
  });
  const entry: ProbeEntry = { name: 'test.turns', input: 'image', load: async () => probe };
  return { lookup: (name) => (name === 'test.turns' ? entry : undefined), seen };
}

/** `count` clauses judged by test.turns, each with its own params (so each runs the probe). */
function turnsClauses(count: number): Requirement[] {
  const base = loadSpecOrThrow('vmspec-v2').requirements.find((r) => r.id === 'V2-IMG-GPT')!;
  return Array.from({ length: count }, (_, i) => ({ ...base, id: `T-${i + 1}`, probe: 'test.turns', params: { n: i + 1 }, when: undefined, needs: undefined, expect: [{ fact: 'ready', equals: true }] }));
}

const image = {} as DiskImage;

t.test("a prepare step's ready is awaited, and its handing is given a turn between clauses", async (t) => {
  const state: TurnState = { steps: 0, ready: false };
  let started = false;
  const { lookup, seen } = turnsProbe(state, () => {
    // Prepared once (the engine asks for every (probe, params)): reading for three turns, then handing over one step per turn.
    if (started) return;
    started = true;
    const ready = (async () => {
      for (let i = 0; i < 3; i++) await turn();
      state.ready = true;
    })();
    const handing = (async () => {
      await ready;
      for (let i = 0; i < 5; i++) {
        await turn();
        state.steps++;
      }
    })();
    return { ready, handing };
  });
  const results = await evaluate(turnsClauses(4), { image }, lookup);
  t.same(results.map((r) => r.status), ['pass', 'pass', 'pass', 'pass'], 'every clause ran after the reading was done');
  const steps = seen.map((s) => s.steps);
  t.ok(steps[0]! >= 1, `the first clause ran after a turn (steps seen: ${steps.join(', ')})`);
  t.ok(steps.every((s, i) => i === 0 || s > steps[i - 1]!), 'the handing moved on between every two clauses');
});

t.test('with nothing being handed over, no turn is taken between clauses', async (t) => {
  const state: TurnState = { steps: 0, ready: true };
  let ticking = true;
  // Something else waiting on the event loop: it would move on only if the engine gave turns.
  const elsewhere = (async () => {
    while (ticking) {
      await turn();
      state.steps++;
    }
  })();
  const { lookup, seen } = turnsProbe(state, () => undefined);
  await evaluate(turnsClauses(4), { image }, lookup);
  ticking = false;
  await elsewhere;
  const steps = seen.map((s) => s.steps);
  t.same(steps, [steps[0], steps[0], steps[0], steps[0]], `the clauses ran without a turn between them (steps seen: ${steps.join(', ')})`);
});

t.test('a prepare step that throws or whose promises reject changes nothing', async (t) => {
  const state: TurnState = { steps: 0, ready: true };
  const throwing = turnsProbe(state, () => {
    throw new Error('prepare failed');
  });
  t.same((await evaluate(turnsClauses(2), { image }, throwing.lookup)).map((r) => r.status), ['pass', 'pass'], 'a throwing prepare is ignored');
  const rejecting = turnsProbe(state, () => ({ ready: Promise.reject(new Error('read failed')), handing: Promise.reject(new Error('hand-over failed')) }));
  t.same((await evaluate(turnsClauses(2), { image }, rejecting.lookup)).map((r) => r.status), ['pass', 'pass'], 'rejected promises are ignored');
});

t.test('a clause whose probe waits (on the thread pool) does not hold up the clauses after it; results stay in order', async (t) => {
  const order: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  /** A probe of the test's own whose facts say it is ready, once `run` has done its part. */
  const readyProbe = (name: string, summary: string, run: () => void | Promise<void>) => defineProbe({
    name,
    summary,
    input: 'image',
    params: obj({ n: int() }),
    facts: obj({ ready: bool() }),
    async run() {
      await run();
      return { ready: true };
    },
  });
  // test.wait's run waits until test.now's run has released it: judged one clause after another, it would wait forever.
  const waiting = readyProbe('test.wait', 'waits to be released', async () => {
    order.push('wait started');
    await released;
    order.push('wait ended');
  });
  const now = readyProbe('test.now', 'answers at once, releasing test.wait', () => {
    order.push('now');
    release();
  });
  const entries = new Map<string, ProbeEntry>([waiting, now].map((p) => [p.name, { name: p.name, input: 'image', load: async () => p }]));
  const base = turnsClauses(1)[0]!;
  const clauses = [{ ...base, id: 'W', probe: 'test.wait' }, { ...base, id: 'N', probe: 'test.now' }];
  const timeout = new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), 5000).unref());
  const results = await Promise.race([evaluate(clauses, { image }, (name) => entries.get(name)), timeout]);
  t.not(results, 'timed out', 'the waiting clause did not hold up the next');
  if (results === 'timed out') return;
  t.same(results.map((r) => [r.id, r.status]), [['W', 'pass'], ['N', 'pass']], 'results in the order of the clauses');
  t.same(order, ['wait started', 'now', 'wait ended']);
  t.ok(results[0]!.durationMs! >= results[1]!.durationMs!, "the waiting clause's duration runs until its own result");
});
