import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyVars, findAavmf, findQemu, runQemu } from '../boot/qemu-run.js';
import { buildReferenceImage } from '../boot/reference/build.js';
import { createEvidenceDisk } from '../boot/reference/evidence-disk.js';
import { timingOf, type Bench, type BenchContext, type Row } from './harness.js';
import { CLI } from './images.js';

/**
 * `vmspec boot` on the built-in reference against the bare QEMU boots it
 * drives: the same image, firmware, machine options and evidence-disk
 * phases, run with boot/qemu-run.ts alone (boot 1 GICv2 write, boot 2
 * GICv3 check, one VARS copy). The difference is vmspec's own cost: start,
 * static verify, firmware selection, evidence evaluation, varstore parse,
 * reports. Each round is a handful of TCG boots, so at most 2 rounds run.
 */
async function run(ctx: BenchContext): Promise<Row[]> {
  const qemu = findQemu();
  const fw = findAavmf();
  if (!qemu || !fw) return [{ what: 'vmspec boot overhead', vmspec: { unavailable: 'QEMU or AAVMF missing' }, target: { kind: 'ratio', max: 1.1 } }];
  ctx.log('boot: building (or finding) the reference image…');
  const ref = await buildReferenceImage({});
  const rounds = Math.min(ctx.rounds, 2);
  const bare: number[] = [];
  const tool: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'vmspec-bench-boot-'));
    try {
      ctx.log(`boot: round ${i + 1}/${rounds}: two bare QEMU boots…`);
      const vars = copyVars(fw, join(dir, 'vars.fd'));
      const t0 = performance.now();
      for (const [gic, phase] of [[2, 'write'], [3, 'check']] as const) {
        const ev = join(dir, `ev-${phase}.img`);
        createEvidenceDisk(ev, { phase, nonce: 'Nbench' });
        const r = await runQemu({ image: ref.image, vars, firmware: fw, evidenceDisk: ev, gic, acpi: true, timeoutMs: 600_000, serialLog: join(dir, `${phase}.log`), qemu });
        if (r.exitCode !== 0) throw new Error(`bare QEMU boot failed (exit ${r.exitCode}): ${r.output}`);
      }
      bare.push(performance.now() - t0);
      ctx.log(`boot: round ${i + 1}/${rounds}: vmspec boot…`);
      const t1 = performance.now();
      const v = spawnSync(process.execPath, [CLI, 'boot', '--format', 'json', '-o', join(dir, 'results.json'), '--work-dir', dir], { encoding: 'utf8' });
      if (v.status !== 0 && v.status !== 1) throw new Error(`vmspec boot failed (exit ${v.status}): ${v.stderr}`);
      tool.push(performance.now() - t1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return [{
    what: 'vmspec boot (reference, 2 TCG boots) vs the same 2 bare QEMU boots',
    vmspec: timingOf(tool),
    peer: { name: 'bare qemu-system-aarch64 ×2', result: timingOf(bare) },
    target: { kind: 'ratio', max: 1.1 },
    note: 'TCG boot times vary by a few seconds run to run; few rounds',
  }];
}

export default { title: 'boot', run } satisfies Bench;
