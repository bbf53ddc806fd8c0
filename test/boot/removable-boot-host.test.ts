/**
 * FW-6 seen from the host (V2-FW-NO-PRESET-BOOTVARS-HOST): `vmspec boot`'s
 * first boot starts from a fresh copy of the firmware's variable-store
 * template (Debian's AAVMF_VARS.fd: blank, no Boot#### variable), so an
 * image that reaches its OS there needs no boot option set up for it.
 *
 * Failing input, one real run (two boots of 40 s each, both stopped by the
 * host): the built-in reference with its loader moved off the removable path
 * to \EFI\debian\grubaa64.efi (where a distribution installed with a Boot####
 * variable keeps it; mtools). AAVMF's boot manager creates its boot options,
 * finds no loader to start and ends in the UEFI Shell: no OS. The passing
 * input is the default run on the reference (test/boot/boot-command.test.ts;
 * v1: test/probes/host/v1-host-clauses.test.ts).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { copyFileSparse } from '../../bytes/sparse-copy.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReferenceImage } from '../../boot/reference/build.js';
import { varsFileFacts } from '../../boot/vars-file.js';
import { hostBootFacts } from '../../boot/host-facts.js';
import { evaluate } from '../../engine/evaluate.js';
import type { HostBootFacts } from '../../probes/host/facts.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { vmspec } from '../cli/cli-runner.js';
import { referenceBootSkip } from '../fixtures/real-boot-skip.js';
import { qemuUnder } from './qemu-processes.js';

const here = await referenceBootSkip({ onProgress: (m) => t.comment(`reference image: ${m}`) });
const skip = here.skip;
const ref = here.ref;

interface Results {
  exitCode: number;
  boot: { workDir: string | null; boots: (HostBootFacts['boots'][number] & { serialLog: string })[] };
  results: { id: string; status: string; message: string; observed: unknown }[];
}

/** The ESP's byte offset: the first GPT partition, as sfdisk reads it. */
function espOffset(image: string): number {
  const table = JSON.parse(execFileSync('sfdisk', ['--json', image], { encoding: 'utf8' })) as { partitiontable: { sectorsize?: number; partitions: { start: number }[] } };
  return table.partitiontable.partitions[0]!.start * (table.partitiontable.sectorsize ?? 512);
}

t.test('an image whose loader is off the removable path: no OS from a fresh store, FW-6 fails', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-removable-boot-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const image = join(dir, 'loader-off-removable-path.img');
  copyFileSparse((ref as ReferenceImage).image, image);
  const esp = `${image}@@${espOffset(image)}`;
  execFileSync('mmd', ['-i', esp, '::/EFI/debian']);
  execFileSync('mmove', ['-i', esp, '::/EFI/BOOT/BOOTAA64.EFI', '::/EFI/debian/grubaa64.efi']);

  const work = join(dir, 'work');
  mkdirSync(work);
  const out = join(dir, 'results.json');
  // --cloud-init off: the image runs the reference's own init; --force: past the failing image clause, to boot it anyway.
  const cli = vmspec(['boot', image, '--cloud-init', 'off', '--force', '--timeout', '40', '--format', 'json', '-o', out, '--work-dir', work, '--keep']);
  if (!existsSync(out)) throw new Error(`vmspec boot wrote no report (exit ${cli.status}): ${cli.stderr}`);
  const r = JSON.parse(readFileSync(out, 'utf8')) as Results;
  const byId = (id: string) => r.results.find((x) => x.id === id);

  t.same(r.results.filter((x) => x.status === 'fail').map((x) => x.id).sort(), ['V2-FW-NO-PRESET-BOOTVARS-HOST', 'V2-IMG-ESP-BOOT-FILE'],
    'the removable-path clause (statically) and FW-6 (from the host), nothing else');
  const host = byId('V2-FW-NO-PRESET-BOOTVARS-HOST')!;
  t.match(host, { message: /removableBoot\.reachedOs differs.*found false/ });
  const { removableBoot } = host.observed as HostBootFacts;
  t.match(removableBoot, { boot: 'boot 1', presetBootVariables: [], reachedOs: false }, 'boot 1 started from the blank template and no OS started');
  t.ok(removableBoot.bootVariablesAfter?.includes('BootOrder'), 'the firmware\'s boot manager ran: it wrote its boot options to the store', { after: removableBoot.bootVariablesAfter });
  t.equal(byId('V2-FW-NO-PRESET-BOOTVARS')?.status, 'skip', 'the static clause has no loader at the removable path to follow');
  t.equal(byId('V2-FW-UEFI')?.status, 'undecided', 'the firmware is not blamed: the image explains why no OS started');
  for (const b of r.boot.boots) t.match(b, { timedOut: true, failure: { kind: 'no-os' } }, `${b.name}: stopped by the host, no OS`);
  t.equal(r.exitCode, 1);
  t.same(qemuUnder(dir), [], 'no QEMU left running');

  // The same run judged as if the template had preset boot options (boot 1's store after it ran, which holds them): undecided.
  const instance = r.boot.workDir!;
  const used = join(instance, 'boot1-VARS.fd');
  const preset = varsFileFacts(used, 'N0');
  t.ok((preset.bootVariables ?? []).length > 0, 'boot 1\'s store now holds boot options');
  const clause = loadSpecOrThrow('vmspec-v2').requirements.filter((x) => x.id === 'V2-FW-NO-PRESET-BOOTVARS-HOST');
  const records = r.boot.boots.map((b) => ({ ...b, serialLog: '', evidence: null }));
  const env = { hypervisor: (host.observed as HostBootFacts).hypervisor, accelerator: (host.observed as HostBootFacts).accelerator };
  const withPreset = hostBootFacts(records, 'N0', env, [], null, preset);
  t.match((await evaluate(clause, { boot: withPreset }))[0], { status: 'undecided', message: /presetBootVariables/ }, 'a template with boot options shows nothing about the image');
  const noUefi = hostBootFacts(records, 'N0', env, [], null, 'no UEFI firmware');
  t.match((await evaluate(clause, { boot: noUefi }))[0], { status: 'undecided', message: /removableBoot\.boot/ }, 'a kernel booted directly (Xen as packaged) shows nothing about FW-6');
  t.same(readdirSync(work).length, 1, 'the kept instance directory');
});
