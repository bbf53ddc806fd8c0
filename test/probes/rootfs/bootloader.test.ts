/** What kind of loader an EFI binary is, judged on the real binaries Debian ships. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { readPe } from '../../../probes/image/pe.js';
import { loaderKindOf } from '../../../probes/rootfs/bootloader.js';
import { efiBinaries } from '../../fixtures/efi-binaries.js';

const kindOf = (path: string): string => {
  const bytes = readFileSync(path);
  return loaderKindOf(bytes, readPe(bytes.subarray(0, 65536), bytes.length), []);
};

t.test('systemd-boot is recognised by its LoaderInfo string, even without a .sdmagic section', async (t) => {
  const efi = efiBinaries();
  const bytes = readFileSync(efi.systemdBootAa64);
  const sections = readPe(bytes.subarray(0, 65536), bytes.length).sections.map((s) => s.name);
  t.notOk(sections.includes('.sdmagic'), `Debian's arm64 build has no .sdmagic section (${sections.join(', ')})`);
  t.equal(kindOf(efi.systemdBootAa64), 'systemd-boot');
});

t.test('a bare systemd-stub (no .linux inside) is no loader to follow; GRUB stays GRUB', async (t) => {
  const efi = efiBinaries();
  t.equal(kindOf(efi.systemdStubAa64), 'unknown');
  t.equal(kindOf(efi.grubaa64), 'grub');
  t.equal(kindOf(efi.arm32), efi.manifest.arm32?.member.includes('systemd') ? 'systemd-boot' : 'grub', 'the 32-bit build is recognised the same way');
});
