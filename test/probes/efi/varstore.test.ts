/**
 * The edk2 variable store parser on real stores only:
 *
 *  - Debian's pristine AAVMF_VARS.fd (all zeros: edk2 formats it at first
 *    boot; `cmp` against /dev/zero is the oracle) and the pre-enrolled
 *    AAVMF_VARS.ms.fd template from the same package;
 *  - a store WRITTEN by the real firmware: the reference image booted once
 *    under QEMU with a copy of AAVMF_VARS.fd, its guest creating
 *    VmspecNonce<nonce> through efivarfs (test/efi/written-store.ts,
 *    cached). The oracle is the guest's own efivarfs view in the evidence
 *    bundle: every non-volatile variable the guest saw must be in the live
 *    view with the same attributes and data.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { TarSysroot } from '../../../probes/sysroot/tar.js';
import { findLiveVariable, liveVariables, readVarStoreFile, type VarStore } from '../../../probes/efi/varstore.js';
import { gEdkiiWorkingBlockSignatureGuid, gEfiAuthenticatedVariableGuid, gEfiSystemNvDataFvGuid } from '../../../probes/efi/guids.js';
import { writtenVarStore } from './written-store.js';

const AAVMF_VARS = '/usr/share/AAVMF/AAVMF_VARS.fd';
const AAVMF_VARS_MS = '/usr/share/AAVMF/AAVMF_VARS.ms.fd';
const EFI_GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
const EFI_IMAGE_SECURITY_DATABASE = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';
const VMSPEC_GUID = 'd960bf04-3984-4c09-8f49-6e746736ed9f';
const noAavmf = existsSync(AAVMF_VARS) ? false : 'AAVMF not installed (apt-get install --no-install-recommends qemu-efi-aarch64)';

function asStore(t: Test, r: ReturnType<typeof readVarStoreFile>): VarStore {
  if (r.kind !== 'store') throw new Error(`expected a formatted store, got ${r.kind}`);
  t.pass('a formatted store');
  return r;
}

/** The AAVMF layout facts (ArmVirtPkg/VarStore.fdf.inc) every formatted store here has. */
function layoutFacts(t: Test, s: VarStore): void {
  t.equal(s.fv.FileSystemGuid, gEfiSystemNvDataFvGuid, 'FileSystemGuid is gEfiSystemNvDataFvGuid');
  t.equal(s.fv.FvLength, 0xc0000, 'FvLength 768 KiB: store + FTW working + FTW spare, 256 KiB each');
  t.equal(s.fv.HeaderLength, 0x48, 'HeaderLength 72 (56 + one BlockMap entry + terminator)');
  t.equal(s.fv.checksumValid, true, 'the header checksums to 0');
  t.equal(s.fv.Revision, 2);
  t.equal(s.store.offset, 0x48, 'the store header right after the FV header');
  t.equal(s.store.Signature, gEfiAuthenticatedVariableGuid, 'an authenticated store');
  t.equal(s.store.Size, 0x40000 - 0x48, 'Size: 256 KiB minus the FV header');
  t.equal(s.store.Format, 0x5a, 'VARIABLE_STORE_FORMATTED');
  t.equal(s.store.State, 0xfe, 'VARIABLE_STORE_HEALTHY');
  t.equal(s.store.status, 'EfiValid');
  t.equal(s.end.reason, 'erased', 'the walk ends at erased flash');
  t.ok(s.ftwWorkingBlock, 'the FTW working block follows the store');
  t.equal(s.ftwWorkingBlock?.offset, 0x40000);
  t.equal(s.ftwWorkingBlock?.Signature, gEdkiiWorkingBlockSignatureGuid);
  t.equal(s.ftwWorkingBlock?.crcValid, true, 'its header CRC matches');
  t.equal(s.ftwWorkingBlock?.valid, true);
  t.same(s.problems, [], 'no problems');
}

t.test('pristine AAVMF_VARS.fd: blank, formatted by the firmware at first boot', { skip: noAavmf }, async (t) => {
  const r = readVarStoreFile(AAVMF_VARS);
  t.equal(r.kind, 'blank', 'no firmware volume yet');
  if (r.kind !== 'blank') return;
  t.equal(r.fill, 0, 'filled with zeros');
  t.equal(r.sourceBytes, statSync(AAVMF_VARS).size, 'the whole 64 MiB pflash file');
  t.equal(r.sourceBytes, 64 * 1024 * 1024);
  // Oracle: cmp(1) says the whole file equals /dev/zero.
  let allZero = true;
  try {
    execFileSync('cmp', ['-s', '-n', String(r.sourceBytes), AAVMF_VARS, '/dev/zero']);
  } catch {
    allZero = false;
  }
  t.equal(allZero, true, 'cmp agrees: the template is all zeros');
});

t.test('AAVMF_VARS.ms.fd: a formatted template with Microsoft keys enrolled', { skip: existsSync(AAVMF_VARS_MS) ? false : 'no AAVMF_VARS.ms.fd' }, async (t) => {
  const s = asStore(t, readVarStoreFile(AAVMF_VARS_MS));
  layoutFacts(t, s);
  const live = liveVariables(s);
  for (const [name, guid] of [['PK', EFI_GLOBAL], ['KEK', EFI_GLOBAL], ['db', EFI_IMAGE_SECURITY_DATABASE], ['dbx', EFI_IMAGE_SECURITY_DATABASE]] as const) {
    const v = live.find((x) => x.name === name && x.guid === guid);
    t.ok(v, `${name} is enrolled`);
    t.same(v?.flags, ['NV', 'BS', 'RT', 'AT'], `${name} is a time-based authenticated variable`);
    t.ok(v?.authenticated && v.authenticated.TimeStamp.Year >= 2010, `${name} carries its TimeStamp`);
  }
  // EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1): db starts with EFI_CERT_X509_GUID a5c059a1-94e4-4aa7-87b5-ab155c2bf072.
  const db = findLiveVariable(s, 'db', EFI_IMAGE_SECURITY_DATABASE);
  t.same([...(db?.data.subarray(0, 4) ?? [])], [0xa1, 0x59, 0xc0, 0xa5], 'db data is an EFI_SIGNATURE_LIST of X.509 certificates');
  const deleted = s.variables.filter((v) => v.state === 'deleted');
  t.ok(deleted.length > 0, 'the template keeps deleted copies (state 0x3C/0x3D)');
  t.notOk(live.some((v) => v.state === 'deleted'), 'no deleted copy in the live view');
  const names = live.map((v) => `${v.guid}:${v.name}`);
  t.equal(new Set(names).size, names.length, 'one live copy per variable');
});

const written = await writtenVarStore((m) => t.comment(m));

t.test('a store written by the real firmware, judged against the guest\'s efivarfs', { skip: written.ok ? false : written.skip }, async (t) => {
  if (!written.ok) return;
  const { vars, evidence, nonce, variable } = written.store;
  const before = statSync(vars);
  const s = asStore(t, readVarStoreFile(vars));
  layoutFacts(t, s);
  const after = statSync(vars);
  t.equal(after.mtimeMs, before.mtimeMs, 'the vars file was not modified');

  const bundle = new TarSysroot(evidence);
  t.teardown(() => bundle.close());
  t.ok(bundle.verify().ok, 'the evidence bundle matches its manifest');
  const live = liveVariables(s);
  const dir = '/sys/firmware/efi/efivars';
  let nonVolatile = 0;
  for (const file of bundle.readdir(dir)) {
    const m = /^(.+)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(file);
    t.ok(m, `${file} is Name-GUID`);
    if (!m) continue;
    const [, name, guid] = m as unknown as [string, string, string];
    const bytes = bundle.readFile(`${dir}/${file}`);
    const attributes = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
    const data = bytes.subarray(4);
    if ((attributes & 1) === 0) {
      t.notOk(live.some((v) => v.name === name && v.guid === guid), `volatile ${name} is not in the flash store`);
      continue;
    }
    nonVolatile++;
    const v = live.find((x) => x.name === name && x.guid === guid);
    t.ok(v, `non-volatile ${name} (${guid}) is live in the store`);
    if (!v) continue;
    t.equal(v.attributes, attributes, `${name}: attributes 0x${attributes.toString(16)} as the guest saw them`);
    t.same(Buffer.from(v.data).toString('hex'), Buffer.from(data).toString('hex'), `${name}: ${data.length} bytes of data as the guest read them`);
  }
  t.ok(nonVolatile >= 10, `the guest saw ${nonVolatile} non-volatile variables`);

  const test = findLiveVariable(s, `VmspecNonce${nonce}`, VMSPEC_GUID);
  t.ok(test, `${variable} persisted in the store`);
  t.equal(Buffer.from(test?.data ?? []).toString('latin1').trim(), nonce, 'holding the nonce');
  t.same(test?.flags, ['NV', 'BS', 'RT'], 'NV+BS+RT, as collect.sh wrote it (07000000)');
  t.equal(test?.state, 'added');
  // The walk itself: every header the firmware wrote, live or retired.
  t.ok(s.variables.length > live.length, 'older copies are kept, not live');
  t.ok(s.variables.some((v) => v.name === 'BootOrder' && v.state === 'deleted'), 'a retired BootOrder copy');
  t.ok(s.end.remainingBytes > 200_000, 'most of the 256 KiB store is still free');
});
