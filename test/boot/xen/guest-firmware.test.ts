import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { UnsupportedError } from '../../../bytes/errors.js';
import {
  fragmentNotApplied,
  guestFirmwareCacheKey,
  guestFirmwareRecipe,
  parseKconfig,
  UBOOT_CONFIG_FRAGMENT,
} from '../../../boot/xen/guest-firmware-config.js';
import { BUILD_TOOLS, buildXenGuestFirmware, guestFirmwarePatches, missingBuildTools, parseSourceUris, resolveXenGuestFirmwareSource } from '../../../boot/xen/guest-firmware.js';

/**
 * The Xen guest firmware builder's fast parts: the cache key, the .config
 * reading, apt's listing, and the errors when a tool or deb-src is missing
 * (real apt, real PATH lookups). The build itself: guest-firmware-build.test.ts.
 */

const DSC = 'baf9a1492456920ff66b00fdd19ce8c588261bc2698b4875c9f5fdcfb1332aae';

t.test('the cache key follows every input of the recipe, and only them', async (t) => {
  const patches = guestFirmwarePatches();
  t.ok(patches.length > 0 && patches.every((p) => p.text.startsWith('--- a/')), 'the local patches are shipped beside the builder');
  const base = guestFirmwareRecipe('2023.01+dfsg-2+deb12u3', DSC, patches);
  const key = guestFirmwareCacheKey(base);
  t.equal(guestFirmwareCacheKey(guestFirmwareRecipe('2023.01+dfsg-2+deb12u3', DSC, patches)), key, 'same recipe, same key');
  t.match(key, /^u-boot_2023\.01\+dfsg-2\+deb12u3_[0-9a-f]{16}$/, 'readable: package and version first');
  const variants = [
    { ...base, sourceVersion: '2023.01+dfsg-2+deb12u4' },
    { ...base, dscSha256: DSC.replace(/^b/, 'c') },
    { ...base, defconfig: 'qemu_arm64_defconfig' },
    { ...base, fragment: base.fragment.slice(1) },
    guestFirmwareRecipe('2023.01+dfsg-2+deb12u3', DSC, patches.map((p) => ({ ...p, text: `${p.text}\n` }))),
    { ...base, builderVersion: base.builderVersion + 1 },
  ];
  const keys = new Set([key, ...variants.map(guestFirmwareCacheKey)]);
  t.equal(keys.size, variants.length + 1, 'each changed input gives a new key');
  t.notMatch(guestFirmwareCacheKey({ ...base, sourceVersion: '1:2/../x y' }), /[/ :]/, 'no path separators or blanks from a version');
});

t.test('a .config is read as Kconfig writes it', async (t) => {
  const c = parseKconfig(
    [
      '#',
      '# Automatically generated file; DO NOT EDIT.',
      'CONFIG_EFI_LOADER=y',
      '# CONFIG_DM_RTC is not set',
      'CONFIG_BOOTDELAY=0',
      'CONFIG_SYS_PROMPT="xenguest# "',
      'CONFIG_X="a \\"quoted\\" \\\\ word"',
      'CONFIG_BOOTDELAY=2',
      'not a config line=y',
    ].join('\n'),
  );
  t.equal(c.get('CONFIG_EFI_LOADER'), 'y');
  t.equal(c.get('CONFIG_DM_RTC'), 'n', '"is not set" reads as n');
  t.equal(c.get('CONFIG_SYS_PROMPT'), 'xenguest# ', 'strings unquoted, inner blanks kept');
  t.equal(c.get('CONFIG_X'), 'a "quoted" \\ word', 'escapes undone');
  t.equal(c.get('CONFIG_BOOTDELAY'), '2', 'the later line wins');
  t.equal(c.size, 5);
});

t.test('a fragment line Kconfig dropped is reported', async (t) => {
  const all = parseKconfig(UBOOT_CONFIG_FRAGMENT.map((f) => f.line).join('\n'));
  t.same(fragmentNotApplied(all), [], 'every line kept');
  all.set('CONFIG_EFI_PARTITION', 'n');
  all.delete('CONFIG_HUSH_PARSER');
  t.same(fragmentNotApplied(all), ['CONFIG_EFI_PARTITION=y (got n)', 'CONFIG_HUSH_PARSER=y (got absent)']);
  for (const f of UBOOT_CONFIG_FRAGMENT) t.ok(f.why.length > 0, `${f.line.split('=')[0]} says why`);
});

t.test("apt-get source --print-uris: the .dsc's version and digest", async (t) => {
  const listing = [
    'Reading package lists...',
    'Need to get 15.7 MB of source archives.',
    `'http://deb.debian.org/debian/pool/main/u/u-boot/u-boot_2023.01%2bdfsg-2%2bdeb12u3.dsc' u-boot_2023.01+dfsg-2+deb12u3.dsc 3612 SHA256:${DSC}`,
    "'http://deb.debian.org/debian/pool/main/u/u-boot/u-boot_2023.01%2bdfsg.orig.tar.xz' u-boot_2023.01+dfsg.orig.tar.xz 15684556 SHA256:e75da6f089d063aaef39a1c17f1631791d87700662624e18de2121fa39a1ed44",
  ].join('\n');
  t.same(parseSourceUris(listing, 'u-boot'), { version: '2023.01+dfsg-2+deb12u3', dsc: 'u-boot_2023.01+dfsg-2+deb12u3.dsc', dscSha256: DSC });
  t.equal(parseSourceUris(listing, 'u-boot-tools'), undefined, 'another package is not taken');
  t.equal(parseSourceUris(listing.replace(/SHA256:[0-9a-f]+/, 'MD5Sum:0140c302cae98ef622e0796884b3cfa5'), 'u-boot'), undefined, 'no sha256, no source');
});

/** A PATH directory holding links to the real tools this machine has, except `without`. */
function pathWithout(t: Test, without: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-fw-path-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const { command } of BUILD_TOOLS) {
    if (without.includes(command)) continue;
    const real = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, command)).find((p) => existsSync(p));
    if (real !== undefined) symlinkSync(real, join(dir, command));
  }
  return dir;
}

t.test('a missing cross compiler is named with the package to install', async (t) => {
  const path = pathWithout(t, ['aarch64-linux-gnu-gcc']);
  const missing = missingBuildTools(path);
  t.ok(missing.some((m) => m.what === 'aarch64-linux-gnu-gcc' && m.pkg === 'gcc-aarch64-linux-gnu'), 'the cross compiler is missing');
  const cacheDir = mkdtempSync(join(tmpdir(), 'vmspec-fw-cache-'));
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));
  const err = await buildXenGuestFirmware({ cacheDir, env: { PATH: path } }).catch((e: unknown) => e);
  t.type(err, UnsupportedError);
  const e = err as UnsupportedError;
  t.match(e.message, /cannot build the Xen guest firmware \(U-Boot xenguest_arm64_defconfig\): missing .*aarch64-linux-gnu-gcc \(gcc-aarch64-linux-gnu\)/);
  t.match(e.hint, /^as root: apt-get install --no-install-recommends .*gcc-aarch64-linux-gnu/);
  t.same(readdirSync(join(cacheDir, 'xen-guest-firmware')), [], 'nothing left in the cache');
});

t.test('an empty PATH names every tool, and the header check is its own', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'vmspec-fw-empty-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const missing = missingBuildTools(empty, () => false);
  t.same(missing.map((m) => m.what), [...BUILD_TOOLS.map((b) => b.command), '/usr/include/openssl/evp.h']);
  t.ok(missing.some((m) => m.pkg === 'libssl-dev'));
  t.same(missingBuildTools(pathWithout(t, []), () => true).map((m) => m.what), BUILD_TOOLS.map((b) => b.command).filter((c) => !(process.env.PATH ?? '').split(delimiter).some((d) => existsSync(join(d, c)))), 'with every tool this machine has linked, only what it lacks is missing');
});

t.test('no deb-src entry: the error says so and how to add one (real apt, no sources)', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'vmspec-fw-apt-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'sources.list.d'));
  writeFileSync(join(root, 'apt.conf'), `Dir::Etc::sourcelist "/dev/null";\nDir::Etc::sourceparts "${join(root, 'sources.list.d')}";\n`);
  const aptOnPath = (process.env.PATH ?? '').split(delimiter).some((d) => existsSync(join(d, 'apt-get')));
  if (!aptOnPath) {
    t.pass('apt-get is not installed here: nothing to ask');
    return;
  }
  const err = await resolveXenGuestFirmwareSource({ env: { ...process.env, APT_CONFIG: join(root, 'apt.conf') } }).catch((e: unknown) => e);
  t.type(err, UnsupportedError);
  t.match((err as UnsupportedError).message, /no deb-src entry/);
  t.match((err as UnsupportedError).hint, /debian-src\.sources with "Types: deb-src".*then apt-get update/);
});
