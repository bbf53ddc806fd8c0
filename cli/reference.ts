import type { Command } from 'commander';
import { writeStdout } from './stdout.js';

/**
 * `vmspec reference build`: build (or find cached) the built-in reference
 * image from Debian arm64 packages. Heavy modules load only when it runs.
 */
export function addReferenceCommands(program: Command): void {
  const reference = program.command('reference').description('the built-in reference image (built locally from Debian arm64 packages)');
  reference
    .command('build')
    .description('build the reference image, or find it in the cache, and print its path')
    .option('--cache-dir <dir>', 'cache root (default: $XDG_CACHE_HOME/vmspec or ~/.cache/vmspec)')
    .option('--force', 'rebuild even when a cached build exists')
    .option('--json', 'print the build record (packages, versions, sha256 of every file) as JSON')
    .option('--login', 'the login variant: a root login (password vmspec) and a shell on ttyAMA0 instead of collecting, for LAVA shell jobs (docs/scale.md)')
    .action(async (o: { cacheDir?: string; force?: boolean; json?: boolean; login?: boolean }) => {
      const [{ buildReferenceImage }, { progressReporter }] = await Promise.all([import('../boot/reference/build.js'), import('../reports/progress.js')]);
      const progress = progressReporter();
      try {
        const ref = await buildReferenceImage({
          ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
          ...(o.force ? { force: true } : {}),
          ...(o.login ? { variant: 'login' as const } : {}),
          onProgress: progress.update,
        });
        progress.done(ref.cached ? 'reference image (cached)' : 'reference image built');
        writeStdout(o.json ? `${JSON.stringify({ image: ref.image, ...ref.info }, null, 2)}\n` : `${ref.image}\n`);
      } catch (e) {
        progress.fail();
        throw e;
      }
    });
}
