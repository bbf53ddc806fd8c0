/**
 * docs/verdicts.md rendered from the fault matrix data (faults.ts). The
 * committed doc must equal this rendering (test/verdicts/doc.test.ts);
 * regenerate it with `npx tsx scripts/verdicts-doc.ts`.
 */
import { BASELINES, FAULTS, PROVEN_ELSEWHERE, SPECS, type Baseline, type Cost, type Fault, type FaultProvenElsewhere } from './faults.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const ids = (xs: string[]) => (xs.length ? xs.map((x) => `\`${x}\``).join(', ') : '—');
const COST: Record<Cost, string> = { fast: 'CI (fixtures only)', boot: 'CI (a real boot, cached; under a minute)', slow: '`VMSPEC_SLOW_TESTS=1`' };

function faultRow(f: Fault, n: number): string {
  let fails = f.refused ? `refused, exit 2: /${f.refused.source}/` : SPECS.map((s) => `${s.replace('vmspec-', '')}: ${ids(f.fails[s])}`).join('<br>');
  const tolerated = f.knownFalseFailures;
  if (tolerated) fails += `<br>*tolerated today, known false failures:* ${ids(SPECS.flatMap((s) => tolerated.clauses[s] ?? []))} (${cell(tolerated.why)})`;
  return `| ${n} | \`${f.id}\` | ${cell(f.title)} | ${cell(f.produced)} | \`${f.baseline}\` | ${fails} | ${COST[f.cost]} |`;
}

function elsewhereRow(f: FaultProvenElsewhere, n: number): string {
  return `| ${n} | \`${f.id}\` | ${cell(f.title)} | ${cell(f.produced)} | ${cell(f.fails)} | \`${f.test}\` | ${COST[f.cost]} |`;
}

function baselineRow(b: Baseline): string {
  const fails = SPECS.map((s) => `${s.replace('vmspec-', '')}: ${ids(b.fails[s])}`).join('<br>');
  const passes = SPECS.map((s) => `${s.replace('vmspec-', '')}: ${b.passes[s].length}`).join(', ');
  return `| \`${b.id}\` | ${cell(b.title)} | ${cell(b.produced)} | ${passes} | ${fails}${b.failsWhy ? ` (${cell(b.failsWhy)})` : ''} | ${COST[b.cost ?? 'fast']} |`;
}

export function renderVerdictsDoc(): string {
  const faults = FAULTS.filter((f) => !f.refused);
  const refused = FAULTS.filter((f) => f.refused);
  return `<!-- Generated from test/verdicts/faults.ts by scripts/verdicts-doc.ts: edit the data, then run \`npx tsx scripts/verdicts-doc.ts\`. -->
# Verdicts under real faults: the fault matrix

A compliance suite is worth what its verdicts are worth on configurations
that are really wrong. This matrix lists real faults, how each is produced,
and **exactly** the clauses it must fail: no fewer (the clause would be
blind to it) and no more (an unrelated clause would fail falsely).

\`test/verdicts/fault-matrix.test.ts\` judges every entry with the real
engine (\`engine/verify.ts\`, what \`vmspec verify\` runs) under vmspec-v2
and vmspec-v1, and asserts that the failing clauses are exactly the
baseline's known failures plus the fault's own, with no probe errors.
\`test/requirements/both-ways.test.ts\` then requires every automated clause
of both specs to pass on some baseline and fail on some fault (or be listed
as pending there, with the reason).

## Baselines

A fault is one change to a compliant input. The baseline passes the clauses
it declares; a compliant configuration may still fail a clause for a reason
that is not a fault of the input (one boot cannot show both ACPI and a
device tree), and that failure is declared and asserted too.

| Baseline | What | How produced | Clauses it must pass | Clauses it fails all the same | Runs |
|---|---|---|---|---|---|
${(Object.values(BASELINES) as Baseline[]).map(baselineRow).join('\n')}

## Faults

"Fails" lists the clauses the fault fails **beyond its baseline's**, per
spec (v2 = vmspec-v2, v1 = vmspec-v1; — = none of that spec).
${faults.length} faults; every one runs in CI unless its cost says otherwise.
The test that proves each: \`test/verdicts/fault-matrix.test.ts\`, subtest
"fault ID" (\`npx tap test/verdicts/fault-matrix.test.ts --grep=ID\`).

| # | Fault | What | How produced | Baseline | Fails (exactly) | Runs |
|---|---|---|---|---|---|---|
${faults.map((f, i) => faultRow(f, i + 1)).join('\n')}

## Inputs refused before any clause runs

These are real faults too, but vmspec cannot read the disk the VM would
see, so the run stops with exit 2 and the reason instead of verdicts. A
container vmspec reads but whose disk cannot be assembled (a followed qcow2
backing file that is missing) is a verdict instead: \`V2-IMG-CONTAINER\` /
\`V1-IMG-CONTAINER\` fail, every other clause is undecided (fault
\`qcow2-backing-missing\`; docs/bad-input.md says where the line is drawn).

| Fault | What | How produced | Outcome |
|---|---|---|---|
${refused.map((f) => `| \`${f.id}\` | ${cell(f.title)} | ${cell(f.produced)} | exit 2: /${cell(f.refused?.source ?? '')}/ |`).join('\n')}

## How the inputs are made

* **Images**: \`test/verdicts/inputs.ts\` builds a GPT disk with real tools
  (sgdisk, mkfs.vfat, mkfs.ext4) holding Debian's real arm64 kernel config
  and modules and Debian's EFI binaries (\`test/fixtures/rootfs-builder.ts\`,
  \`efi-binaries.ts\`), then changes one thing with a real tool (qemu-img,
  sgdisk) or, where no tool writes the fault, with a byte edit that says so.
  The boot-chain baselines swap the loader: Debian's signed shim, its
  fallback and signed GRUB from the shim-signed, shim-helpers-arm64-signed
  and grub-efi-arm64-signed debs (\`apt-get download\`, cached;
  \`test/fixtures/shim-builder.ts\`), or a UKI objcopy builds onto
  systemd-boot's stub (\`test/fixtures/uki-builder.ts\`).
* **Evidence**: bundles made by the real collector
  (\`probes/guest/collect.sh\`) over a guest root filled with real material
  (\`test/fixtures/evidence-bundles.ts\`: QEMU virt's own ACPI tables and
  device tree, the /proc and /sys text of a Debian 12 guest under AAVMF).
  A fault is a recipe option modelling what a real guest shows under that
  fault; its "How produced" says which.
* **Real boots** (cost \`boot\`): the reference image (\`boot/reference\`)
  under QEMU TCG with Debian's AAVMF, its evidence disk judged as
  \`vmspec verify --evidence DISK\` would (\`realBootEvidence\` in
  \`test/verdicts/inputs.ts\`). Measured on 2 cores: 11–13 s per boot as
  QEMU reports it on a quiet machine (each kept in \`boot-ms\` beside the
  cached evidence disk), 28–38 s on a busy one; the six boots took 74 s of
  test time together, cold, reference image cached.
  Skipped, with the reason, when VMSPEC_SKIP_BOOT is set or QEMU/AAVMF are
  missing.
* A fault may list \`knownFalseFailures\`: clauses that fail on it today
  although the spec does not ask them to, with the reason. They are
  tolerated (never required, never counted as a clause's failing test) until
  the fix lands, then removed.
* Everything is cached under \`.cache/fixtures\`. Measured on 2 cores, a
  quiet machine: the whole matrix takes 11 s of test time with a warm cache
  (9 s with \`VMSPEC_SKIP_BOOT=1\`); cold, 184 s, the Debian packages'
  download and the six real boots included. On a busy machine it took 87 s
  warm and 211 s cold without the boots.

## Faults proven by whole boots and by the parsers' own tests

The host's own clauses and failed boots need \`vmspec boot\`'s flow, not an
evidence disk, and some faults are asserted next to the parser they
exercise. Each test asserts that exactly these clauses fail.
${PROVEN_ELSEWHERE.length} faults (${faults.length + PROVEN_ELSEWHERE.length} in all on this page).

| # | Fault | What | How produced | Fails | Test | Runs |
|---|---|---|---|---|---|---|
${PROVEN_ELSEWHERE.map((f, i) => elsewhereRow(f, i + 1)).join('\n')}

## Adding a fault

1. Append one entry to \`FAULTS\` in \`test/verdicts/faults.ts\`: \`id\`,
   \`title\`, \`produced\` (how, honestly), \`baseline\`, \`fails\` for
   **every** spec (\`[]\` when the fault must fail none of that spec's
   clauses), \`cost\` (\`fast\`, \`boot\` for a real boot under a minute,
   \`slow\` otherwise: run with \`VMSPEC_SLOW_TESTS=1\`) and \`build\`
   (returns, or resolves to, \`{ image }\`, \`{ evidence }\` or both;
   \`realBootEvidence(name, { acpi, gic, qemuArgs })\` boots the reference
   image once and caches its evidence disk). For an input vmspec
   must refuse, set \`refused\` to the expected message instead.
2. Run \`npx tsx scripts/verdicts-doc.ts\` to regenerate this page.
3. Run \`npx tap test/verdicts/fault-matrix.test.ts test/verdicts/doc.test.ts test/requirements/both-ways.test.ts\`.
   If a clause leaves the pending list of \`both-ways.test.ts\` because
   your fault covers it, remove it from \`PENDING\` there.
`;
}
