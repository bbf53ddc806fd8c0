import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { copyFileSparse } from '../../../bytes/sparse-copy.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { buildReferenceImage, LOGIN_VARIANT, templatePath } from '../../../boot/reference/build.js';
import { referenceBootSkip } from '../../fixtures/real-boot-skip.js';
import { findQemu } from '../../../boot/qemu-run.js';
import { qemuUnder } from '../qemu-processes.js';

/**
 * The reference image's login variant (what a LAVA shell job logs into):
 * built by the real builder from Debian's packages, its initramfs read back
 * with cpio, then booted under QEMU with AAVMF and driven as LAVA's
 * auto-login and test shell drive it (lava_dispatcher actions/boot
 * LoginAction, actions/boot/qemu.py's overlay pre-commands).
 */

const work = mkdtempSync(join(tmpdir(), 'vmspec-login-variant-'));
t.teardown(() => {
  for (const pid of qemuUnder(work)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(work, { recursive: true, force: true });
});

const { skip, fw, ref } = await referenceBootSkip({ variant: 'login' });
const tool = (cmd: string, args: string[], input?: Buffer): Buffer => {
  const r = spawnSync(cmd, args, { input, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr?.toString() ?? r.error?.message}`);
  return r.stdout;
};

t.test('the login variant is its own cached build, with what LAVA needs in its initramfs', { skip }, async (t) => {
  const login = ref!;
  const collecting = await buildReferenceImage();
  t.not(login.key, collecting.key, 'another cache entry than the collecting reference');
  t.equal(login.info.variant, 'login');
  t.equal(collecting.info.variant, undefined, 'the collecting build does not name a variant');
  t.equal(login.info.cmdline, LOGIN_VARIANT.cmdline);
  t.notMatch(login.info.cmdline, /\bquiet\b/, 'not quiet: auto-login waits for the kernel banner');
  for (const m of LOGIN_VARIANT.modules) t.ok(login.info.modules.some((p) => new RegExp(`/${m.replace(/_/g, '[-_]')}\\.ko$`).test(p)), `carries ${m}`);

  // The initramfs as the ESP holds it (mtools), listed and read with cpio.
  const initrd = join(work, 'initrd.img');
  tool('mcopy', ['-n', '-i', `${login.image}@@${2048 * 512}`, '::/initrd.img', initrd]);
  const cpio = gunzipSync(readFileSync(initrd));
  const listing = tool('cpio', ['-t', '-v', '--quiet'], cpio).toString().split('\n');
  const entry = (path: string) => listing.find((l) => l.endsWith(` ${path}`));
  t.match(entry('etc/shadow'), /^-rw------- /, 'shadow readable by root only');
  for (const p of ['etc/inittab', 'etc/passwd', 'etc/profile', 'etc/hostname', 'init']) t.ok(entry(p), `initramfs has ${p}`);
  const read = (path: string) => tool('cpio', ['-i', '--quiet', '--to-stdout', path], cpio).toString();
  t.equal(read('init'), readFileSync(templatePath('login-init.sh'), 'utf8'), '/init is boot/reference/login-init.sh');
  t.match(read('etc/inittab'), /^ttyAMA0::respawn:\/sbin\/getty -L 115200 ttyAMA0 vt100$/m, 'getty on the first PL011');
  t.equal(read('etc/hostname'), `${LOGIN_VARIANT.hostname}\n`);
  const shadow = read('etc/shadow').split(':');
  t.equal(shadow[0], LOGIN_VARIANT.username);
  const salt = shadow[1]!.split('$')[2]!;
  t.equal(tool('openssl', ['passwd', '-6', '-salt', salt, LOGIN_VARIANT.password]).toString().trim(), shadow[1], 'the hash is of the documented password');
  t.not(tool('openssl', ['passwd', '-6', '-salt', salt, 'not-the-password']).toString().trim(), shadow[1], 'and of no other');
  const modules = read('etc/vmspec/modules').trim().split('\n');
  const at = (m: string) => modules.findIndex((p) => new RegExp(`/${m.replace(/_/g, '[-_]')}\\.ko$`).test(p));
  t.ok(LOGIN_VARIANT.modules.every((m) => at(m) >= 0), 'ext4 and its dependencies are loaded at boot');
  t.ok(at('ext4') > at('jbd2') && at('jbd2') > at('mbcache') && at('ext4') > at('crc16'), 'ext4 after what it needs');
  t.equal(createHash('sha256').update(readFileSync(login.image)).digest('hex'), login.info.files['disk.img']!.sha256, 'the cached image is the one its build record names');
});

/** Serial console driver: wait for a pattern in what QEMU printed since the last match. */
class Console {
  private out = '';
  private from = 0;
  private waiters: (() => void)[] = [];
  constructor(private readonly input: NodeJS.WritableStream, output: NodeJS.ReadableStream) {
    output.on('data', (b: Buffer) => {
      this.out += b.toString('latin1');
      for (const w of this.waiters.splice(0)) w();
    });
    output.on('end', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }
  text(): string {
    return this.out;
  }
  async expect(re: RegExp, limitMs = 240_000): Promise<string> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const m = re.exec(this.out.slice(this.from));
      if (m) {
        const seen = this.out.slice(this.from, this.from + m.index + m[0].length);
        this.from += m.index + m[0].length;
        return seen;
      }
      if (Date.now() > deadline) throw new Error(`console: no ${re} within ${limitMs / 1000} s; last output:\n${this.out.slice(-2000)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 1000);
      });
    }
  }
  send(line: string): void {
    this.input.write(`${line}\n`);
  }
}

t.test('booted under QEMU: kernel banner, login on ttyAMA0, the prompt, LAVA\'s ext2 overlay mount by UUID', { skip, timeout: 600_000 }, async (t) => {
  const login = ref!;
  const vars = join(work, 'vars.fd');
  copyFileSparse(fw!.varsTemplate, vars);
  // LAVA's overlay disk: ext2 (prepare_guestfs), mounted by UUID; one file in it.
  const overlay = join(work, 'overlay.img');
  const uuid = '5a1f0e2d-3c4b-4a69-8d7e-0f1e2d3c4b5a';
  spawnSync('truncate', ['-s', '16M', overlay]);
  tool('mkfs.ext2', ['-q', '-U', uuid, overlay]);
  const marker = join(work, 'marker');
  writeFileSync(marker, 'lava overlay mounted\n');
  tool('debugfs', ['-w', '-R', `write ${marker} marker`, overlay]);

  const qemu = spawn(findQemu()!, [
    '-M', 'virt,gic-version=3', '-cpu', 'cortex-a57', '-m', '1024', '-smp', '2', '-accel', 'tcg,thread=multi',
    '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${fw!.code}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
    '-drive', `if=virtio,format=raw,file=${login.image},snapshot=on`,
    '-drive', `if=virtio,format=raw,file=${overlay}`,
  ], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => qemu.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (qemu.exitCode === null) qemu.kill('SIGKILL');
  });
  const c = new Console(qemu.stdin, qemu.stdout);

  await c.expect(/Linux version [0-9]/);
  t.pass('the kernel banner reaches the console (auto-login\'s first wait)');
  const beforeLogin = await c.expect(new RegExp(LOGIN_VARIANT.loginPrompt));
  t.match(beforeLogin, new RegExp(`/dev/disk/by-uuid/${uuid} -> /dev/vd[a-z]`), 'init linked the overlay disk by its UUID');
  // A wrong password is refused with the words LAVA fails on (LOGIN_INCORRECT_MSG "Login incorrect").
  c.send(LOGIN_VARIANT.username);
  await c.expect(new RegExp(LOGIN_VARIANT.passwordPrompt));
  c.send('wrong-password');
  await c.expect(/Login incorrect/);
  t.pass('a wrong password: Login incorrect');
  await c.expect(new RegExp(LOGIN_VARIANT.loginPrompt));
  c.send(LOGIN_VARIANT.username);
  await c.expect(new RegExp(LOGIN_VARIANT.passwordPrompt));
  c.send(LOGIN_VARIANT.password);
  await c.expect(new RegExp(LOGIN_VARIANT.prompt.replace(/[$^.*+?()[\]{}|\\]/g, '\\$&')));
  t.pass(`logged in: the prompt "${LOGIN_VARIANT.prompt}"`);
  // What LAVA's qemu boot pushes as the test shell's pre-commands, then a POSIX sh check.
  c.send(`mkdir /lava-42; mount /dev/disk/by-uuid/${uuid} -t ext2 /lava-42 && cat /lava-42/marker; echo "rc=$?"`);
  const mounted = await c.expect(/rc=\d+/);
  t.match(mounted, /lava overlay mounted\r?\n.*rc=0/s, 'the ext2 overlay mounts by UUID and reads back');
  c.send('grep " /lava-42 " /proc/mounts; echo "mounts=$?"');
  t.match(await c.expect(/mounts=\d+/), /\/lava-42 ext[24] .*mounts=0/s, 'mounted through the ext4 module as ext2');
  c.send('poweroff -f');
  t.equal(await exited, 0, 'QEMU exits when the guest powers off');
});
