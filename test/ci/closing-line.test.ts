import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../fixtures/cache.js';

/** .ci/closing-line: CI's verdict from tap's output. A skip that is not an opt-in slow test fails CI. */
function closingLine(status: number, log: string): { status: number | null; lines: string[] } {
  const r = spawnSync('bash', [join(repoRoot, '.ci', 'closing-line'), String(status)], { input: log, encoding: 'utf8' });
  return { status: r.status, lines: r.stdout.trimEnd().split('\n') };
}

const tap = (...lines: string[]) => `TAP version 14\n${lines.join('\n')}\n`;

t.test('all passed, the slow tests skipped: success, skips counted', async (t) => {
  const r = closingLine(0, tap(
    '    ok 1 - parses a GPT',
    '    ok 2 - a real Debian cloud image # SKIP set VMSPEC_SLOW_TESTS=1 to boot a real Debian cloud image',
    'ok 1 - test/a.test.ts # time=12ms',
    'ok 2 - test/rootfs/real-image.test.ts # SKIP the real image is not built yet: set VMSPEC_SLOW_TESTS=1 to build and test it',
    '# { total: 4, pass: 2, skip: 2 }',
  ));
  t.same(r.lines, ['tests: 2 passed, 0 failed, 2 skipped']);
  t.equal(r.status, 0);
});

t.test('any other skip is a failure, and named', async (t) => {
  const r = closingLine(0, tap(
    '        ok 1 - results JSON is schema-valid',
    '        ok 2 - JUnit XSD # SKIP xmllint not found: apt-get install -y --no-install-recommends libxml2-utils',
    '    ok 3 - in chromium # SKIP /usr/bin/chromium not found',
    '    ok 4 - slow # SKIP set VMSPEC_SLOW_TESTS=1',
    '# { total: 4, pass: 1, skip: 3 }',
  ));
  t.equal(r.status, 1);
  t.equal(r.lines.at(-1), 'tests: 1 passed, 2 failed, 1 skipped');
  t.match(r.lines.join('\n'), /xmllint not found[\s\S]*chromium not found/);
});

t.test('"# SKIP" escaped inside a test name (tap writes it as \\#) is a name, not a directive', async (t) => {
  const r = closingLine(0, tap(
    '    ok 5 - skip and manual are \\# SKIP',
    '    ok 6 - X-"><img> not ok 99 - injected ok 100 \\# SKIP injected ---: message',
    'ok 1 - test/reports/tap.test.ts # time=3ms',
    '# { total: 3, pass: 3 }',
  ));
  t.same(r.lines, ['tests: 3 passed, 0 failed, 0 skipped']);
  t.equal(r.status, 0);
});

t.test('failures and a build that never reached tap', async (t) => {
  const failed = closingLine(1, tap('not ok 1 - x', '# { total: 9, pass: 8, fail: 1 }'));
  t.same(failed, { status: 1, lines: ['tests: 8 passed, 1 failed, 0 skipped'] });
  const broken = closingLine(2, 'error TS2304: Cannot find name\n');
  t.same(broken, { status: 1, lines: ['tests: 0 passed, 1 failed, 0 skipped'] });
});
