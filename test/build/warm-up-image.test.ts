/**
 * The disk the build warms V8's code cache on (build/warm-up-image.cjs) must
 * be one the real tools accept and that takes a verify through the readers a
 * distro image needs (GPT, FAT32, PE, GRUB's mods section and scripts, ext4,
 * the kernel, its config, the initrd and the modules): a disk that stopped
 * early would silently leave that code out of the cache.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmspec } from '../cli/cli-runner.js';

const { warmUpImage } = createRequire(import.meta.url)('../../build/warm-up-image.cjs') as { warmUpImage: (dir: string) => string | { why: string } };

const work = mkdtempSync(join(tmpdir(), 'vmspec-warm-up-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const disk = warmUpImage(work);

t.test('the disk is made, and sgdisk and mtools read it', async (t) => {
  t.type(disk, 'string', typeof disk === 'string' ? disk : disk.why);
  if (typeof disk !== 'string') return;
  const v = spawnSync('sgdisk', ['-v', disk], { encoding: 'utf8' });
  t.match(v.stdout, /No problems found/, v.stdout);
  const info = spawnSync('sgdisk', ['-i', '1', disk], { encoding: 'utf8' });
  t.match(info.stdout, /C12A7328-F81F-11D2-BA4B-00A0C93EC93B/, 'partition 1 is an ESP');
  const dir = spawnSync('mdir', ['-i', `${disk}@@1M`, '-b', '::/EFI/BOOT'], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  t.match(dir.stdout, /BOOTAA64\.EFI/, dir.stderr);
});

t.test('its root is an ext4 that e2fsck passes and debugfs lists', async (t) => {
  if (typeof disk !== 'string') return t.fail(disk.why);
  const root = join(work, 'root-copy.img');
  spawnSync('dd', [`if=${disk}`, `of=${root}`, 'bs=1M', `skip=${1 + 40}`, 'count=16', 'status=none']);
  const fsck = spawnSync('e2fsck', ['-f', '-n', root], { encoding: 'utf8' });
  t.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
  const ls = spawnSync('debugfs', ['-R', 'ls /boot', root], { encoding: 'utf8' });
  t.match(ls.stdout, /config-6\.1\.0-0-arm64/);
  t.match(ls.stdout, /initrd\.img-6\.1\.0-0-arm64/);
});

t.test('a verify of it runs the GPT, FAT32, PE, GRUB, ext4, kernel and initrd readers', async (t) => {
  if (typeof disk !== 'string') return t.fail(disk.why);
  const r = vmspec(['verify', disk, '--format', 'json']);
  const results = (JSON.parse(r.stdout) as { results: { id: string; status: string; observed: Record<string, unknown> | null }[] }).results;
  const status = (id: string) => results.find((x) => x.id === id)?.status;
  for (const id of ['V2-IMG-GPT', 'V2-IMG-ESP-FAT32', 'V2-IMG-BOOTAA64-UEFI-APP', 'V2-IMG-BOOTAA64-PATH']) t.equal(status(id), 'pass', id);
  const chain = results.find((x) => x.id === 'V2-FW-NO-PRESET-BOOTVARS')?.observed as { loaderKind?: string; grubPrefix?: string; kernelReached?: boolean } | undefined;
  t.equal(chain?.loaderKind, 'grub', 'BOOTAA64.EFI is read as GRUB (its mods section)');
  t.equal(chain?.grubPrefix, '/EFI/BOOT');
  t.equal(chain?.kernelReached, true, 'the embedded script and the root\'s grub.cfg were evaluated to the kernel');
  const drivers = results.find((x) => x.id === 'V2-GUEST-VIRTIO-PCI')?.observed as { kernel?: { selectedBy?: string; configFrom?: string }; initrd?: { modules?: number } } | undefined;
  t.equal(drivers?.kernel?.selectedBy, 'bootloader', 'the kernel is the boot loader\'s default entry');
  t.equal(drivers?.kernel?.configFrom, 'file');
  t.equal(drivers?.initrd?.modules, 3, 'the gzip\'d cpio initrd was read');
});
