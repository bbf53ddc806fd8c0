/**
 * End to end: build the reference image (cached), boot it under QEMU TCG
 * three times and read the evidence tar back from the evidence disk with the
 * tar Sysroot, in place:
 *
 *   boot 1  ACPI, VARS copy A, phase write (nonce via fw_cfg)         ┐ in parallel
 *   boot 3  DT (acpi=off) + GICv3, FRESH VARS copy B, phase check     ┘ (2 cores)
 *           (nonce via fw_cfg), NO evidence disk: the bundle comes back
 *           framed on the serial console; the variable is absent
 *   boot 2  ACPI, VARS copy A again (a full power cycle later), phase check
 *           (nonce via the evidence disk header): the variable is present
 *
 * Skipped, with the reason, when qemu-system-aarch64 or AAVMF is missing or
 * the image cannot be built here (no arm64 apt metadata and nothing cached).
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnsupportedError } from '../../../bytes/errors.js';
import { TarSysroot } from '../../../probes/sysroot/tar.js';
import { extractConsoleBundle } from '../../../probes/sysroot/console.js';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { readText } from '../../../probes/sysroot/types.js';
import { buildReferenceImage, type ReferenceImage } from '../../../boot/reference/build.js';
import { createEvidenceDisk, type Phase } from '../../../boot/reference/evidence-disk.js';
import { copyVars, findAavmf, findQemu, runQemu, type QemuRunResult } from '../../../boot/qemu-run.js';

const EFI_GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
const BOOT_TIMEOUT_MS = 240_000;

const qemu = findQemu();
const fw = findAavmf();
let skip: string | false = false;
if (qemu === undefined) skip = 'qemu-system-aarch64 not found (apt-get install --no-install-recommends qemu-system-arm)';
else if (fw === undefined) skip = 'AAVMF firmware not found in /usr/share/AAVMF (apt-get install --no-install-recommends qemu-efi-aarch64)';
else if (process.env.VMSPEC_SKIP_BOOT) skip = 'VMSPEC_SKIP_BOOT is set';

let ref: ReferenceImage | undefined;
if (!skip) {
  const started = Date.now();
  try {
    ref = await buildReferenceImage({ onProgress: (m) => t.comment(`reference image: ${m}`) });
    t.comment(`reference image ${ref.cached ? 'found in the cache' : 'built'} in ${Date.now() - started} ms: ${ref.image}`);
  } catch (e) {
    if (!(e instanceof UnsupportedError)) throw e;
    skip = `cannot build the reference image here: ${e.message}${e.hint ? ` (${e.hint})` : ''}`;
  }
}

interface Boot {
  name: string;
  disks: number;
  result: QemuRunResult;
  log: string;
  evidence: TarSysroot;
}

t.test('reference image under QEMU TCG: ACPI, DT, UEFI variable persistence', { skip }, async (t) => {
  const image = (ref as ReferenceImage).image;
  const firmware = fw as NonNullable<typeof fw>;
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-boot-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const nonce = `T${randomBytes(6).toString('hex')}`;
  const varsA = copyVars(firmware, join(dir, 'vars-a.fd'));
  const varsB = copyVars(firmware, join(dir, 'vars-b.fd'));
  t.comment(`nonce ${nonce}`);

  const boot = async (
    name: string,
    opts: { acpi: boolean; gic?: 2 | 3; vars: string; viaFwCfg?: { phase: Phase }; viaDisk?: { phase: Phase }; console?: boolean },
  ): Promise<Boot> => {
    const tag = name.split(':')[0]?.replace(/\s+/g, '-') ?? 'boot';
    const evidence = join(dir, `${tag}-evidence.img`);
    if (!opts.console) createEvidenceDisk(evidence, opts.viaDisk ? { phase: opts.viaDisk.phase, nonce } : {});
    const result = await runQemu({
      image,
      vars: opts.vars,
      firmware,
      ...(opts.console ? {} : { evidenceDisk: evidence }),
      acpi: opts.acpi,
      ...(opts.gic !== undefined ? { gic: opts.gic } : {}),
      timeoutMs: BOOT_TIMEOUT_MS,
      serialLog: join(dir, `${tag}-serial.log`),
      ...(opts.viaFwCfg ? { fwCfg: { 'opt/vmspec/phase': opts.viaFwCfg.phase, 'opt/vmspec/nonce': nonce } } : {}),
    });
    // eslint-disable-next-line no-control-regex
    const log = readFileSync(result.serialLog, 'latin1').replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '');
    t.comment(`${name}: QEMU exit ${result.exitCode} after ${result.durationMs} ms`);
    const diag = { serialTail: log.split('\n').slice(-25).join('\n'), qemuOutput: result.output };
    t.equal(result.timedOut, false, `${name}: finished within ${BOOT_TIMEOUT_MS / 1000} s`, diag);
    t.equal(result.exitCode, 0, `${name}: QEMU exits 0 (guest powered off)`, diag);
    t.match(log, /VMSPEC-DONE rc=0/, `${name}: collect.sh finished`, diag);
    // Without an evidence disk the guest prints the tar on the console.
    const bundle = opts.console ? new TarSysroot(new BufferByteSource(extractConsoleBundle(log), 'serial console')) : new TarSysroot(evidence);
    return { name, disks: opts.console ? 1 : 2, result, log, evidence: bundle };
  };

  const started = Date.now();
  const [b1, b3] = await Promise.all([
    boot('boot 1: ACPI, phase write via fw_cfg', { acpi: true, vars: varsA, viaFwCfg: { phase: 'write' } }),
    boot('boot 3: DT, GICv3, fresh vars, no evidence disk (console), phase check via fw_cfg', { acpi: false, gic: 3, vars: varsB, viaFwCfg: { phase: 'check' }, console: true }),
  ]);
  const b2 = await boot('boot 2: ACPI, same vars after a power cycle, phase check via the evidence disk', { acpi: true, vars: varsA, viaDisk: { phase: 'check' } });
  t.comment(`three boots: ${Date.now() - started} ms`);

  const common = (t: Test, b: Boot): void => {
    const s = b.evidence;
    const report = s.verify();
    t.ok(report.ok && report.checked > 20, 'the bundle matches its manifest', { issues: report.issues });
    t.equal(s.manifest?.efivarfs, 'mounted', 'efivarfs mounted by the collector');
    t.equal(s.manifest?.unreadable.length, 0, 'nothing was unreadable', { unreadable: s.manifest?.unreadable });
    t.equal(readText(s, '/sys/firmware/efi/fw_platform_size'), '64\n');
    const vars = s.readdir('/sys/firmware/efi/efivars');
    for (const v of ['BootOrder', 'BootCurrent', 'SecureBoot', 'PlatformLang']) t.ok(vars.includes(`${v}-${EFI_GLOBAL}`), `efivar ${v}`);
    t.same([...s.readFile(`/sys/firmware/efi/efivars/SecureBoot-${EFI_GLOBAL}`).subarray(0, 4)], [6, 0, 0, 0], 'efivar files are attributes + data');
    t.match(readText(s, '/proc/consoles'), /^ttyAMA0 /m, 'console on the PL011');
    t.notMatch(readText(s, '/proc/cmdline'), /console=/, 'the console came from the firmware (SPCR / stdout-path), not the command line');
    t.match(readText(s, '/sys/class/rtc/rtc0/name'), /rtc-efi/, 'rtc0 is rtc-efi under UEFI');
    const guestClock = Number(readText(s, '/cmd/date-u'));
    t.ok(Math.abs(guestClock - Date.now() / 1000) < 900, 'guest clock within 15 minutes of the host', { guestClock });
    const virtio = s.readdir('/sys/bus/pci/devices').filter((d) => readText(s, `/sys/bus/pci/devices/${d}/vendor`) === '0x1af4\n');
    t.equal(virtio.length, b.disks, b.disks === 2 ? 'two virtio PCI devices (boot disk, evidence disk)' : 'one virtio PCI device (boot disk)');
    for (const d of virtio) t.match(s.readlink(`/sys/bus/pci/devices/${d}/driver`), /\/virtio-pci$/, `${d} bound to virtio-pci`);
    t.equal(readText(s, '/sys/devices/system/cpu/online'), '0-1\n');
    t.ok(s.exists('/boot/config-' + readText(s, '/proc/sys/kernel/osrelease').trim()), 'kernel config collected');
  };

  t.test(b1.name, async (t) => {
    const s = b1.evidence;
    common(t, b1);
    const tables = s.readdir('/sys/firmware/acpi/tables');
    for (const sig of ['APIC', 'FACP', 'GTDT', 'SPCR', 'DSDT']) t.ok(tables.includes(sig), `ACPI ${sig}`);
    t.equal(new TextDecoder().decode(s.readFile('/sys/firmware/acpi/tables/SPCR').subarray(0, 4)), 'SPCR');
    // Under ACPI the kernel only has the EFI stub's DT (/chosen): no machine description.
    t.notOk(s.exists('/sys/firmware/devicetree/base/compatible'), 'no machine devicetree under ACPI');
    t.match(s.manifest?.efiVariableTest, { phase: 'write', result: 'written', nonce, content: nonce, attributes: '07000000' });
    t.ok(s.readdir('/sys/firmware/efi/efivars').includes(`VmspecNonce${nonce}-d960bf04-3984-4c09-8f49-6e746736ed9f`), 'the new variable is in the bundle');
    t.match(b1.log, new RegExp(`phase write nonce ${nonce} \\(from fw_cfg\\)`), 'phase chosen through fw_cfg');
  });

  t.test(b2.name, async (t) => {
    common(t, b2);
    t.ok(b2.evidence.exists('/sys/firmware/acpi/tables/GTDT'));
    t.match(b2.evidence.manifest?.efiVariableTest, { phase: 'check', result: 'present', nonce, content: nonce, attributes: '07000000' }, 'the variable survived the power cycle');
    t.match(b2.log, new RegExp(`phase check nonce ${nonce} \\(from evidence disk\\)`), 'phase chosen through the evidence disk header');
  });

  t.test(b3.name, async (t) => {
    const s = b3.evidence;
    common(t, b3);
    t.notOk(s.exists('/sys/firmware/acpi/tables'), 'no ACPI tables in DT mode');
    t.ok(s.manifest?.absent.includes('/sys/firmware/acpi/tables'), 'looked for and absent');
    t.same([...s.readFile('/sys/firmware/fdt', { maxBytes: 4 * 1024 * 1024 }).subarray(0, 4)], [0xd0, 0x0d, 0xfe, 0xed], 'FDT blob present');
    t.ok(s.exists('/sys/firmware/devicetree/base/compatible'), 'devicetree present');
    t.match(readText(s, '/proc/interrupts'), /GICv3/, 'GICv3 as asked');
    t.match(s.manifest?.efiVariableTest, { phase: 'check', result: 'absent', nonce, content: null }, 'a fresh VARS copy does not have it');
    t.notOk(s.readdir('/sys/firmware/efi/efivars').some((v) => v.startsWith('VmspecNonce')), 'and the check phase did not create it');
    t.equal(s.manifest?.outputs.console, true, 'bundle read from the console frame');
  });

  t.teardown(() => {
    for (const b of [b1, b2, b3]) b.evidence.close();
  });
});
