import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '../../../bytes/file-digest.js';
import { parseKconfig, UBOOT_BOOTCOMMAND, UBOOT_PATCHES } from '../../../boot/xen/guest-firmware-config.js';
import { buildXenGuestFirmware } from '../../../boot/xen/guest-firmware.js';

/**
 * The Xen guest firmware really built from Debian's u-boot source (about
 * 1.5 min of compiling on 2 cores, then cached): what the binary is and what
 * its .config gives a domU; a canceled build leaves no process and no cache
 * entry; a second build elsewhere gives the same bytes. Opt-in: it needs
 * deb-src and gcc-aarch64-linux-gnu (docs/xen.md "Guest firmware").
 */

// With VMSPEC_SLOW_TESTS=1, scripts/install-system-packages.sh installs the tools and the deb-src
// entry; when they are missing anyway, the build's error (what, and how to fix) fails the test.
const skip = !process.env.VMSPEC_SLOW_TESTS ? 'set VMSPEC_SLOW_TESTS=1 to build U-Boot for a Xen guest from Debian sources (2-5 min)' : false;

/** Processes whose working directory is under dir (the build's make and compilers run in its work tree). */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p))) {
    try {
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)) found.push(pid);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

t.test('the firmware and what its configuration gives a domU', { skip }, async (t) => {
  const fw = await buildXenGuestFirmware({ onProgress: (m) => t.comment(m) });
  t.comment(`${fw.cached ? 'cached' : `built in ${fw.info.buildSeconds} s`}: ${fw.path}`);
  const bin = readFileSync(fw.path);
  t.equal(bin.readUInt32LE(0x38), 0x644d5241, 'an arm64 Linux Image header ("ARM\\x64" at 0x38): xl loads it as the domain kernel');
  t.equal(await sha256File(fw.path), fw.info.sha256, 'the recorded digest is the file');
  t.same(fw.info.recipe.patches.map((p) => p.file), UBOOT_PATCHES.map((p) => p.file), 'built with the local patches');
  t.match(readFileSync(join(fw.dir, 'build.log'), 'utf8'), /\$ patch -p1 --forward --batch -i \S+guest-firmware-efi-xen-fini\.patch\npatching file lib\/efi_loader\/efi_boottime\.c/, 'and patch applied them cleanly');
  t.match(bin.toString('latin1'), /U-Boot 2023\.01 \([A-Z][a-z]{2} \d{2} \d{4} - [0-9:]{8} \+0000\) xenguest/, 'banner dated from SOURCE_DATE_EPOCH');
  const c = parseKconfig(readFileSync(fw.config, 'utf8'));
  t.equal(c.get('CONFIG_XEN'), 'y', 'Xen guest (hypercalls, grant tables, event channels, xenbus)');
  t.equal(c.get('CONFIG_XEN_SERIAL'), 'y', 'console: the Xen PV console');
  t.equal(c.get('CONFIG_PVBLOCK'), 'y', 'disks: Xen PV block front-end');
  t.equal(c.get('CONFIG_EFI_LOADER'), 'y', 'UEFI boot and runtime services (U-Boot EFI_LOADER)');
  t.equal(c.get('CONFIG_EFI_PARTITION'), 'y', 'GPT');
  t.equal(c.get('CONFIG_CMD_BOOTEFI_BOOTMGR'), 'y', 'the UEFI boot manager (Boot####/BootOrder)');
  t.equal(c.get('CONFIG_BOOTCOMMAND'), UBOOT_BOOTCOMMAND);
  t.equal(c.get('CONFIG_EFI_VARIABLE_FILE_STORE'), 'y', 'non-volatile variables go to ubootefi.var on the ESP (boot services only)');
  t.not(c.get('CONFIG_EFI_RT_VOLATILE_STORE'), 'y', 'no SetVariable at runtime');
  t.equal(c.get('CONFIG_DM_RTC'), 'n', 'no RTC driver: GetTime answers EFI_UNSUPPORTED');
  t.not(c.get('CONFIG_EFI_GET_TIME'), 'y');
  t.equal(c.get('CONFIG_GENERATE_ACPI_TABLE'), 'n', 'no ACPI tables: the OS gets the device tree Xen wrote');
});

t.test('a canceled build stops every process it started and leaves no cache entry; a rebuild gives the same bytes', { skip }, async (t) => {
  const reference = await buildXenGuestFirmware();
  const cacheDir = mkdtempSync(join(tmpdir(), 'vmspec-fw-build-'));
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));

  const ac = new AbortController();
  const err = await buildXenGuestFirmware({
    cacheDir,
    signal: ac.signal,
    onProgress: (m) => {
      t.comment(m);
      // Cancel in the middle of make -j2, when compilers are running.
      if (m.startsWith('compiling')) setTimeout(() => ac.abort(), 20_000);
    },
  }).catch((e: unknown) => e);
  t.match(err, { name: 'AbortError' }, 'the build rejects as aborted');
  t.same(processesUnder(cacheDir), [], 'no make or compiler left running in its tree');
  t.same(readdirSync(join(cacheDir, 'xen-guest-firmware')), [], 'no partial entry in the cache');

  const again = await buildXenGuestFirmware({ cacheDir, onProgress: (m) => t.comment(m) });
  t.equal(again.cached, false);
  t.equal(again.key, reference.key, 'same recipe, same key');
  t.equal(again.info.sha256, reference.info.sha256, 'same bytes from another directory and another run');
  t.ok(existsSync(again.path));
});
