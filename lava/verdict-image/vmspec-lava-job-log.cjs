// vmspec-lava-job-log.cjs LAVA_URL JOB_ID OUT: shipped in the verdict image
// beside vmspec-lava-verdict (scripts/lava-verdict-image.sh), which runs it in
// the verdict step of a console job.
//
// Fetches a job's log from a LAVA server (GET URL/api/v0.2/jobs/ID/logs/,
// public jobs need no token) and writes its console lines ("lvl": "target")
// as the guest printed them, one per line: the input `vmspec verify
// --evidence` reads the frame from.
//
// LAVA writes each log record as one line of YAML flow style with every
// scalar double-quoted and keys sorted (lava_common/log.py dump()), e.g.
//   - {"dt": "2023-01-01T00:00:00.000000", "lvl": "target", "msg": "text"}
// so a record is read with one regular expression and YAML's double-quoted
// escapes (YAML 1.1 §5.7 / 1.2 §5.7). The dispatcher sends records to the
// server in batches while the job runs: the script polls until the frame's
// end line has arrived (or gives up after ~5 minutes, exit 1).
'use strict';
const { writeFileSync } = require('node:fs');
const [base, job, out] = process.argv.slice(2);
if (!base || !/^[0-9]+(\.[0-9]+)?$/.test(job || '') || !out) {
  console.error('usage: node vmspec-lava-job-log.cjs LAVA_URL JOB_ID OUT');
  process.exit(2);
}
const END = '-----END VMSPEC EVIDENCE-----';
const RECORD = /^- \{"dt": "(?:[^"\\]|\\.)*", "lvl": "target", "msg": "((?:[^"\\]|\\.)*)"\}$/;
const SIMPLE = { '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b', ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029' };
const HEX = { x: 2, u: 4, U: 8 };
function unquote(s) {
  let o = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') { o += s[i]; continue; }
    const c = s[++i];
    if (c in SIMPLE) { o += SIMPLE[c]; continue; }
    const n = HEX[c];
    const hex = n ? s.slice(i + 1, i + 1 + n) : '';
    if (!n || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) return null; // not a YAML escape: not a record we read
    o += String.fromCodePoint(parseInt(hex, 16));
    i += n;
  }
  return o;
}
const complete = (lines) => lines.some((l) => l.includes(END));
function consoleLines(text) {
  const lines = [];
  for (const l of text.split('\n')) {
    const m = RECORD.exec(l);
    const msg = m && unquote(m[1]);
    if (msg !== null && msg !== undefined) lines.push(msg);
  }
  return lines;
}
(async () => {
  const url = base.replace(/\/*$/, '/') + 'api/v0.2/jobs/' + job + '/logs/';
  let lines = [];
  for (let attempt = 1; attempt <= 30; attempt++) {
    try {
      const r = await fetch(url);
      if (r.ok) lines = consoleLines(await r.text());
      else console.error('vmspec: GET ' + url + ': HTTP ' + r.status);
    } catch (e) {
      console.error('vmspec: GET ' + url + ': ' + (e.cause ? e.cause.message : e.message));
    }
    if (complete(lines)) break;
    await new Promise((done) => setTimeout(done, 10000));
  }
  writeFileSync(out, lines.length ? lines.join('\n') + '\n' : '');
  console.log('vmspec: ' + lines.length + ' console lines of job ' + job + (complete(lines) ? ', the frame complete' : ', no complete frame'));
  process.exit(complete(lines) ? 0 : 1);
})();
