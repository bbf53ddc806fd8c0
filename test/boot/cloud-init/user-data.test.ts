import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { mountSeedScriptPath, SEED_MOUNT_POINT, userData } from '../../../boot/cloud-init/user-data.js';
import { runnerPath } from '../../../boot/cloud-init/seed.js';

/**
 * The user-data judged by cloud-init's own schema checker (`cloud-init
 * schema`, Debian's cloud-init 22.4), which must also reject deliberately
 * broken variants; the shell it carries and run.sh judged by shellcheck and
 * by dash's parser.
 */

const work = mkdtempSync(join(tmpdir(), 'vmspec-user-data-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

let n = 0;
function schema(text: string): { status: number | null; output: string } {
  const file = join(work, `user-data-${n++}`);
  writeFileSync(file, text);
  const r = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const text = userData();

t.test('cloud-init schema accepts the user-data and rejects broken ones', { skip: which('cloud-init') ? false : 'cloud-init is not installed (apt-get install cloud-init)' }, async (t) => {
  const ok = schema(text);
  t.equal(ok.status, 0, 'valid', { output: ok.output });
  t.match(ok.output, /Valid cloud-config/);
  t.equal(schema(userData({ powerStateTimeout: 3600 })).status, 0, 'the largest timeout is valid too');

  const broken: [string, string, RegExp][] = [
    ['power_state mode', text.replace('mode: poweroff', 'mode: explode'), /power_state\.mode/],
    ['power_state delay', text.replace('delay: now', 'delay: soon'), /power_state\.delay/],
    ['runcmd not a list', text.replace(/runcmd:\n(?:  .*\n|\n)*/, 'runcmd: 42\n'), /runcmd/],
  ];
  for (const [name, bad, where] of broken) {
    t.not(bad, text, `${name}: the mutation applied`);
    const r = schema(bad);
    t.not(r.status, 0, `${name}: refused`);
    t.match(r.output, where, `${name}: the checker names the key`);
  }
});

t.test('what the user-data says', async (t) => {
  t.ok(text.startsWith('#cloud-config\n'), 'first line marks cloud-config');
  const doc = parseYaml(text) as Record<string, unknown>;
  t.same(Object.keys(doc).sort(), ['power_state', 'runcmd'], 'nothing else: no users, packages, keys or passwords');
  t.same(doc.power_state, { mode: 'poweroff', delay: 'now', timeout: 120, condition: true, message: 'vmspec evidence collection finished' });
  const runcmd = doc.runcmd as unknown[];
  t.equal(runcmd.length, 1);
  const [cmd] = runcmd as [string[]];
  t.same(cmd.slice(0, 2), ['sh', '-c'], 'an argument list: no shell quoting of the script by cloud-init');
  t.equal(cmd[2], readFileSync(mountSeedScriptPath(), 'utf8'), 'the script comes out of the YAML byte for byte');
  t.match(cmd[2], /\/dev\/disk\/by-label\/\$label/);
  t.match(cmd[2], /blkid -t LABEL=CIDATA -o device/);
  t.match(cmd[2], /mount -o ro "\$dev" "\$seed"/);
  t.match(cmd[2], new RegExp(`seed=${SEED_MOUNT_POINT}`));
  t.match(cmd[2], /exec sh "\$seed\/vmspec\/run\.sh"/);
  t.match(cmd[2], /say "VMSPEC-DONE rc=3"/, 'a seed that cannot be mounted still ends the run visibly');
  t.equal(userData(), text, 'deterministic');
  t.match(userData({ powerStateTimeout: 30 }), /^  timeout: 30$/m);
});

t.test('shellcheck: run.sh, the mount script, and the script as extracted from the YAML', { skip: which('shellcheck') ? false : 'shellcheck is not installed (apt-get install shellcheck)' }, async (t) => {
  const doc = parseYaml(text) as { runcmd: string[][] };
  const extracted = join(work, 'runcmd.sh');
  writeFileSync(extracted, doc.runcmd[0]?.[2] ?? '');
  for (const file of [runnerPath(), mountSeedScriptPath(), extracted]) {
    const r = spawnSync('shellcheck', ['-s', 'sh', file], { encoding: 'utf8' });
    t.equal(r.status, 0, file, { output: r.stdout + r.stderr });
  }
  // shellcheck must be able to fail here: a bashism is caught.
  const bashism = join(work, 'bashism.sh');
  writeFileSync(bashism, 'x=(1 2)\n[[ -n $x ]] && echo "${x[0]}"\n');
  t.not(spawnSync('shellcheck', ['-s', 'sh', bashism]).status, 0, 'shellcheck rejects bash arrays under -s sh');
});

t.test('dash and busybox sh parse both scripts', async (t) => {
  for (const sh of [['dash'], ['busybox', 'sh']]) {
    if (!which(sh[0] as string)) continue;
    for (const file of [runnerPath(), mountSeedScriptPath()]) {
      const r = spawnSync(sh[0] as string, [...sh.slice(1), '-n', file], { encoding: 'utf8' });
      t.equal(r.status, 0, `${sh.join(' ')} -n ${file}`, { stderr: r.stderr });
    }
  }
});

t.test('bad options are refused with the reason', async (t) => {
  t.throws(() => userData({ powerStateTimeout: 3601 }), { message: /power_state timeout 3601 must be a whole number of seconds from 1 to 3600/ });
  t.throws(() => userData({ powerStateTimeout: Number.NaN }), { message: /whole number/ });
});
