import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderJunit, xmlAttr, xmlText } from '../../reports/junit.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { repoRoot } from '../fixtures/cache.js';
import { buildRun, HOSTILE } from '../fixtures/results-builder.js';

const XSD = resolve(repoRoot, 'test', 'fixtures', 'junit.xsd');
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;
const spec = loadSpecOrThrow('vmspec-v2');
const run = buildRun({ hostile: true });
const xml = renderJunit(run, spec);
const dir = mkdtempSync(join(tmpdir(), 'vmspec-junit-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'report.xml');
writeFileSync(file, xml);

const xpath = (expr: string) => execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();
const noXmllint = hasXmllint ? false : 'xmllint not found: apt-get install -y --no-install-recommends libxml2-utils';

t.test('valid against the JUnit XSD (xmllint)', { skip: noXmllint }, async (t) => {
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /validates/);
});

t.test('structure read back with XPath: suites per section, cases per requirement', { skip: noXmllint }, async (t) => {
  const bySection = new Map<string, number>();
  for (const r of run.results) bySection.set(r.ref.section, (bySection.get(r.ref.section) ?? 0) + 1);
  t.equal(Number(xpath('count(/testsuites/testsuite)')), bySection.size, 'one testsuite per section');
  t.equal(Number(xpath('count(//testcase)')), run.results.length, 'one testcase per requirement');
  t.equal(Number(xpath('count(//testcase/failure)')), run.summary.fail);
  t.equal(Number(xpath('count(//testcase/error)')), run.summary.error);
  t.equal(Number(xpath('count(//testcase/skipped)')), run.summary.skip + run.summary.manual + run.summary.waived, 'skip, manual and waived are <skipped>');
  t.equal(Number(xpath('count(//skipped[@type="waived"])')), run.summary.waived);
  t.equal(Number(xpath('count(//skipped[@type="manual"])')), run.summary.manual);
  t.equal(Number(xpath('string(/testsuites/@tests)')), run.results.length);
  t.equal(Number(xpath('string(/testsuites/@failures)')), run.summary.fail);
  t.equal(xpath('string(/testsuites/testsuite[2]/@name)'), spec.sections[1]!.title);
  const gpt = spec.requirements.find((r) => r.id === 'V2-IMG-CONTAINER')!;
  t.equal(xpath(`string(//testcase[starts-with(@name, "V2-IMG-CONTAINER ")]/@name)`), `V2-IMG-CONTAINER ${gpt.title}`, 'name = "ID title"');
  t.equal(xpath(`string(//testcase[starts-with(@name, "V2-IMG-CONTAINER ")]/@classname)`), gpt.ref.section, 'classname = section');
  t.equal(Number(xpath('sum(/testsuites/testsuite/@tests)')), run.results.length, 'suite counts add up');
});

t.test('hostile strings round-trip as text, never as markup', { skip: noXmllint }, async (t) => {
  const failName = xpath('string(//testcase[starts-with(@name, "V2-IMG-GPT ")]/@name)');
  t.ok(failName.includes(HOSTILE.img), 'the payload in a title comes back verbatim as an attribute value');
  const message = xpath('string(//testcase[starts-with(@name, "V2-IMG-GPT ")]/failure/@message)');
  t.ok(message.includes(HOSTILE.script), 'and in the failure message');
  const remediation = xpath('string(//testcase[starts-with(@name, "V2-IMG-GPT ")]/failure)');
  t.ok(remediation.includes(']]><![CDATA[ <x> ]]>'), '`]]>` is escaped text, not a CDATA end');
  t.equal(Number(xpath('count(//script | //img | //svg)')), 0, 'no element from untrusted text');
});

t.test('XML-illegal characters never appear', async (t) => {
  // eslint-disable-next-line no-control-regex
  t.notMatch(xml, /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/, 'no C0 controls other than tab/newline');
  t.notMatch(xml, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/, 'no lone surrogates');
  t.notMatch(xml, /<!\[CDATA\[/, 'no CDATA sections (the payload\'s is escaped)');
  t.equal(xmlText('a\u0000b<]]>'), 'a\\x00b&lt;]]&gt;');
  t.equal(xmlAttr('"\'\n\t&'), '&quot;&apos;&#10;&#9;&amp;');
  t.equal(xmlText('\ud800x\uffff'), '\ufffdx\\uffff');
});

t.test('a run with only passes has no failure elements and still validates', { skip: noXmllint }, async (t) => {
  const ok = buildRun({});
  for (const r of ok.results) if (r.status !== 'manual') r.status = 'pass';
  const f = join(dir, 'ok.xml');
  writeFileSync(f, renderJunit(ok));
  t.equal(spawnSync('xmllint', ['--noout', '--schema', XSD, f]).status, 0);
  t.notMatch(renderJunit(ok), /<failure|<error/);
});
