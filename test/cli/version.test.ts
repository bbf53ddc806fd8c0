import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../fixtures/cache.js';
import { vmspec } from './cli-runner.js';

// bin/vmspec.js answers a lone --version / -V itself; anything more goes to commander. Same answer either way.
t.test('--version: the short path in bin/ says what commander says', async (t) => {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  for (const args of [['--version'], ['-V'], ['-V', '-V'], ['--version', '--help']]) {
    t.same(vmspec(args), { status: 0, stdout: `${version}\n`, stderr: '' }, args.join(' '));
  }
});
