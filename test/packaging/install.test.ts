import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildGptDisk } from '../fixtures/disk-builder.js';
import { efiBinaries } from '../fixtures/efi-binaries.js';
import { buildFatImage } from '../fixtures/fat-builder.js';
import { repoRoot } from '../fixtures/cache.js';
import type { RunResults } from '../../engine/results.js';

/**
 * The package as a user gets it: `npm pack`, `npm install -g` of the tarball
 * into a fresh prefix, offline, then the installed `vmspec` run from a
 * directory outside the checkout. What the tarball forgets (built code, a
 * spec, a schema, a template, the collector) fails here, not on a user's machine.
 */

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env }, maxBuffer: 64 * 1024 * 1024 });
}

t.test('the packed tarball installs offline and its vmspec verifies an image', async (t) => {
  // Packed as built: `npm test` built dist/ first. Not through prepack (a rebuild),
  // which would replace dist/ under the tests running beside this one.
  t.ok(existsSync(join(repoRoot, 'dist', 'bundle', 'main.cjs')), 'dist/bundle/main.cjs is built (npm run build)');

  const tmp = mkdtempSync(join(tmpdir(), 'vmspec-pack-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const packDir = join(tmp, 'pack');
  const prefix = join(tmp, 'prefix');
  const work = join(tmp, 'work');
  for (const d of [packDir, prefix, work]) mkdirSync(d);
  // npm's own cache and logs stay in the temporary directory too.
  const npmEnv = { npm_config_cache: join(tmp, 'npm-cache'), npm_config_update_notifier: 'false' };

  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], repoRoot, npmEnv);
  t.equal(pack.status, 0, `npm pack: ${pack.stderr}`);
  const [{ filename, files }] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
  const paths = files.map((f) => f.path);
  for (const must of ['bin/vmspec.js', 'bin/package.json', 'bin/bundle-loader.cjs', 'dist/bundle/main.cjs', 'dist/bundle/main.cjs.v8cache', 'dist/bundle/vendor/yaml.cjs', 'dist/bundle/vendor/ajv.cjs', 'dist/requirements/validators.generated.cjs',
    'dist/spec-snapshots/vmspec-v2.snapshot', 'spec/vmspec-v2/spec.yaml', 'spec/profiles/image.yaml', 'schema/results.schema.json',
    'waivers/known-firmware-deviations.yaml', 'probes/guest/collect.sh', 'boot/references.yaml', 'boot/reference/init.sh', 'reports/templates/report.njk', 'lava/verdict-image/vmspec-lava-verdict.sh', 'lava/verdict-image/vmspec-lava-job-log.cjs']) {
    t.ok(paths.includes(must), `the tarball carries ${must}`);
  }
  t.same(paths.filter((p) => /^(test|bench|build)\//.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts')) || p.endsWith('.map')), [], 'no tests, benches, build scripts, sources or source maps');

  const install = run('npm', ['install', '--global', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, join(packDir, filename)], work, npmEnv);
  t.equal(install.status, 0, `npm install -g --offline: ${install.stderr}`);
  const installed = join(prefix, 'lib', 'node_modules', pkg.name);
  t.notOk(existsSync(join(installed, 'node_modules')), 'no runtime dependencies to install: they are in the bundle');
  const bin = join(prefix, 'bin', 'vmspec');

  const version = run(bin, ['--version'], work);
  t.equal(version.stdout, `${pkg.version}\n`, `--version: ${version.stderr}`);
  t.equal(version.status, 0);

  const efi = efiBinaries();
  const esp = buildFatImage('pack-esp', { fatBits: 32, sizeMiB: 40, sectorsPerCluster: 1, label: 'ESP', dirs: ['/EFI', '/EFI/BOOT'], files: [{ path: '/EFI/BOOT/BOOTAA64.EFI', from: efi.grubaa64 }] });
  const image = buildGptDisk([
    { type: 'EF00', sizeMiB: 48, name: 'EFI system', contentFile: esp },
    { type: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE', sizeMiB: 8, name: 'root' },
  ], { label: 'pack-disk' });

  const verify = run(bin, ['verify', image, '--target', 'image', '--format', 'json'], work);
  t.equal(verify.stderr, '', 'nothing on stderr');
  const results = JSON.parse(verify.stdout) as RunResults;
  t.equal(verify.status, results.exitCode, 'exit code matches the JSON');
  t.equal(results.exitCode, 0, 'the compliant image passes');
  t.match(results.target, { kind: 'image', format: 'raw', path: image });
  const passed = results.results.filter((r) => r.status === 'pass').map((r) => r.id);
  for (const id of ['V2-IMG-GPT', 'V2-IMG-ESP-TYPE', 'V2-IMG-ESP-FAT32', 'V2-IMG-BOOTAA64-PATH']) t.ok(passed.includes(id), `${id} passes`);

  // The HTML report (nunjucks and the templates) and the full spec loader (yaml, the precompiled validators).
  const html = run(bin, ['verify', image, '--target', 'image', '--format', 'html', '--output', join(work, 'report.html')], work);
  t.equal(html.status, 0, `verify --format html: ${html.stderr}`);
  t.match(readFileSync(join(work, 'report.html'), 'utf8'), /<html[\s\S]*V2-IMG-ESP-FAT32/);
  const lint = run(bin, ['spec', 'lint', join(installed, 'spec', 'vmspec-v2')], work);
  t.equal(lint.status, 0, `spec lint of the installed spec: ${lint.stdout}${lint.stderr}`);

  const alias = run(join(prefix, 'bin', 'vmspec-verify'), ['--version'], work);
  t.equal(alias.stdout, `${pkg.version}\n`, 'the vmspec-verify alias is installed too');
  t.same(readdirSync(work).sort(), ['report.html'], 'the runs wrote nothing but the report into the working directory');
});
