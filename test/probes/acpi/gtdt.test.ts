import t from 'tap';
import { type Gtdt, type GtdtTimer, parseGtdt } from '../../../probes/acpi/gtdt.js';
import {
  type DslField, type Eq, type TableFixture, amlFixture, armDataTables, buildTable, checkHeader, disassemble, dslAt, dslBit, dslHex, dslHex64,
  iaslTemplates, mutate, qemuTables,
} from '../../fixtures/acpi-tables.js';

function checkTimer(t: Eq, timer: GtdtTimer, dsl: DslField[], offset: number, gsivName: string, flagsName: string): void {
  t.equal(timer.gsiv, dslHex(dslAt(dsl, offset, gsivName)), gsivName);
  const f = dslAt(dsl, offset + 4, flagsName);
  t.equal(timer.flags, dslHex(f), flagsName);
  t.equal(timer.edgeTriggered, dslBit(f, 'Trigger Mode'), `${flagsName}: trigger mode`);
  t.equal(timer.activeLow, dslBit(f, 'Polarity'), `${flagsName}: polarity`);
  t.equal(timer.alwaysOn, dslBit(f, 'Always On'), `${flagsName}: always on`);
}

/** Every GTDT field we report against iasl's disassembly. */
function checkGtdt(t: Eq, g: Gtdt, dsl: DslField[]): void {
  checkHeader(t, g.header, dsl);
  t.equal(g.cntControlBase, dslHex64(dslAt(dsl, 36, 'Counter Block Address')), 'CntControlBase');
  checkTimer(t, g.secureEl1, dsl, 48, 'Secure EL1 Interrupt', 'EL1 Flags (decoded below)');
  checkTimer(t, g.nonSecureEl1, dsl, 56, 'Non-Secure EL1 Interrupt', 'NEL1 Flags (decoded below)');
  checkTimer(t, g.virtualEl1, dsl, 64, 'Virtual Timer Interrupt', 'VT Flags (decoded below)');
  checkTimer(t, g.nonSecureEl2, dsl, 72, 'Non-Secure EL2 Interrupt', 'NEL2 Flags (decoded below)');
  t.equal(g.cntReadBase, dslHex64(dslAt(dsl, 80, 'Counter Read Block Address')), 'CntReadBase');
  t.equal(g.platformTimerCount, dslHex(dslAt(dsl, 88, 'Platform Timer Count')), 'Platform Timer Count');
  t.equal(g.platformTimerOffset, dslHex(dslAt(dsl, 92, 'Platform Timer Offset')), 'Platform Timer Offset');
  if (g.virtualEl2) {
    t.equal(g.virtualEl2.gsiv, dslHex(dslAt(dsl, 96, 'Virtual EL2 Timer GSIV')), 'Virtual EL2 Timer GSIV');
    t.equal(g.virtualEl2.flags, dslHex(dslAt(dsl, 100, 'Virtual EL2 Timer Flags')), 'Virtual EL2 Timer Flags');
  } else {
    t.notOk(dsl.some((f) => f.name === 'Virtual EL2 Timer GSIV'), 'no EL2 virtual timer in iasl either');
  }
  t.same(g.platformTimers.map((p) => [p.offset, p.type]), dsl.filter((f) => f.name === 'Subtable Type').map((f) => [f.offset, dslHex(f)]), 'platform timer offsets and types');
  for (const p of g.platformTimers) {
    const o = p.offset;
    t.equal(p.length, dslHex(dslAt(dsl, o + 1, 'Length')), 'platform timer Length');
    if (p.type === 0 && 'timers' in p) {
      t.equal(p.cntCtlBaseAddress, dslHex64(dslAt(dsl, o + 4, 'Block Address')), 'GT Block CntCtlBase');
      t.equal(p.timers.length, dslHex(dslAt(dsl, o + 12, 'Timer Count')), 'GT Block Timer Count');
      const timersOffset = dslHex(dslAt(dsl, o + 16, 'Timer Offset'));
      p.timers.forEach((x, i) => {
        const b = o + timersOffset + i * 40;
        t.equal(x.frameNumber, dslHex(dslAt(dsl, b, 'Frame Number')), 'GTFrameNumber');
        t.equal(x.cntBaseAddress, dslHex64(dslAt(dsl, b + 4, 'Base Address')), 'CntBaseX');
        t.equal(x.cntEl0BaseAddress, dslHex64(dslAt(dsl, b + 12, 'EL0 Base Address')), 'CntEL0BaseX');
        t.equal(x.physicalTimerGsiv, dslHex(dslAt(dsl, b + 20, 'Timer Interrupt')), 'physical timer GSIV');
        t.equal(x.physicalTimerFlags, dslHex(dslAt(dsl, b + 24, 'Timer Flags (decoded below)')), 'physical timer flags');
        t.equal(x.virtualTimerGsiv, dslHex(dslAt(dsl, b + 28, 'Virtual Timer Interrupt')), 'virtual timer GSIV');
        t.equal(x.virtualTimerFlags, dslHex(dslAt(dsl, b + 32, 'Virtual Timer Flags (decoded below)')), 'virtual timer flags');
        t.equal(x.commonFlags, dslHex(dslAt(dsl, b + 36, 'Common Flags (decoded below)')), 'common flags');
      });
    } else if (p.type === 1 && 'secure' in p) {
      t.equal(p.refreshFrameAddress, dslHex64(dslAt(dsl, o + 4, 'Refresh Frame Address')), 'RefreshFrame');
      t.equal(p.controlFrameAddress, dslHex64(dslAt(dsl, o + 12, 'Control Frame Address')), 'ControlFrame');
      t.equal(p.timerInterrupt, dslHex(dslAt(dsl, o + 20, 'Timer Interrupt')), 'watchdog GSIV');
      const f = dslAt(dsl, o + 24, 'Timer Flags (decoded below)');
      t.equal(p.timerFlags, dslHex(f), 'watchdog flags');
      t.equal(p.secure, dslBit(f, 'Security'), 'watchdog secure');
    }
  }
}

t.test('every GTDT field agrees with iasl -d', async (t) => {
  const fixtures: TableFixture[] = [...qemuTables('GTDT'), amlFixture(armDataTables(), 'gtdt-rev3')];
  for (const f of fixtures) t.test(f.label, async (t) => checkGtdt(t, parseGtdt(f.bytes), f.dsl));
});

t.test('QEMU virt timers: the PPIs Linux expects, revision 2 without a virtual EL2 timer', async (t) => {
  for (const f of qemuTables('GTDT')) {
    t.match(parseGtdt(f.bytes), {
      header: { revision: 2 },
      secureEl1: { gsiv: 29 }, nonSecureEl1: { gsiv: 30, alwaysOn: true }, virtualEl1: { gsiv: 27, edgeTriggered: false, activeLow: false },
      nonSecureEl2: { gsiv: 26 }, virtualEl2: null, platformTimerCount: 0, platformTimers: [],
    }, f.label);
  }
});

t.test('revision 3 with GT Block and watchdog', async (t) => {
  const g = parseGtdt(amlFixture(armDataTables(), 'gtdt-rev3').bytes);
  t.match(g, {
    virtualEl1: { gsiv: 27, activeLow: true, alwaysOn: true, edgeTriggered: false },
    nonSecureEl2: { edgeTriggered: true },
    virtualEl2: { gsiv: 28, flags: 5, edgeTriggered: true, alwaysOn: true },
    gtBlockCount: 1, watchdogCount: 1,
    platformTimers: [
      { type: 0, typeName: 'GT Block', timers: [{ frameNumber: 0, physicalTimerGsiv: 57 }, { frameNumber: 1, cntEl0BaseAddress: '0xffffffffffffffff', commonFlags: 1 }] },
      { type: 1, typeName: 'Arm Generic Watchdog', timerInterrupt: 93, secure: true },
    ],
  });
});

t.test("iasl's own GTDT template has a Platform Timer Offset that points at the EL2 virtual timer", async (t) => {
  const tpl = amlFixture(iaslTemplates(), 'gtdt');
  // Revision 3, Platform Timer Offset 0x60: the timers really start at 0x68, as iasl's own disassembly shows.
  // iasl decodes it; we report what is there (the per-processor timers) and the inconsistency as such.
  const g = parseGtdt(tpl.bytes);
  t.match(g.problems, [/^GTDT at offset 92: Platform Timer Offset 96 points into the 104-byte fixed part of a revision 3 GTDT$/]);
  t.same(g.platformTimers, [], 'no platform timer is read from inside the fixed part');
  t.equal(g.virtualEl1.gsiv, dslHex(dslAt(disassemble(tpl.bytes), 64, 'Virtual Timer Interrupt')), 'the virtual timer is still read');
  const fixed = mutate(tpl.bytes, (dv) => dv.setUint32(92, 0x68, true));
  checkGtdt(t, parseGtdt(fixed), disassemble(fixed));
});

t.test('shorter, older GTDTs', async (t) => {
  const [q] = qemuTables('GTDT');
  if (!q) throw new Error('no GTDT');
  // ACPI 5.0: 80 bytes, no CntReadBase or platform timers.
  const g50 = parseGtdt(buildTable(mutate(q.bytes.subarray(0, 80), (_, b) => { b[8] = 1; }, false)));
  t.match(g50, { cntReadBase: null, platformTimerCount: 0, virtualEl2: null, nonSecureEl2: { gsiv: 26 } });
  t.throws(() => parseGtdt(buildTable(q.bytes.subarray(0, 76))), { name: 'ParseError', structure: 'GTDT', offset: 4, message: /less than the 80 bytes/ });
});

t.test('malformed platform timers are recorded as problems; the fixed part is still read', async (t) => {
  const good = amlFixture(armDataTables(), 'gtdt-rev3').bytes;
  const cases: [string, Uint8Array, Record<string, unknown>][] = [
    ['count far too big', mutate(good, (dv) => dv.setUint32(88, 1000, true)), { structure: 'GTDT Platform Timer Structure', offset: 104, message: /count 1000 needs at least 4000 bytes/ }],
    ['count one too many', mutate(good, (dv) => dv.setUint32(88, 3, true)), { structure: 'GTDT Platform Timer Structure', offset: 232 }],
    ['offset past the end', mutate(good, (dv) => dv.setUint32(92, 0xfffffff0, true)), { structure: 'GTDT Platform Timer Structure' }],
    ['timer Length 0', mutate(good, (dv) => dv.setUint16(105, 0, true)), { structure: 'GTDT Platform Timer Structure', offset: 104, message: /Length 0/ }],
    ['timer runs past the end', mutate(good, (dv) => dv.setUint16(205, 29, true)), { structure: 'GTDT Platform Timer Structure', offset: 204, message: /runs past the end/ }],
    ['GT Block Timer Count 9', mutate(good, (dv) => dv.setUint32(116, 9, true)), { structure: 'GTDT GT Block', offset: 116, message: /exceeds the maximum of 8/ }],
    ['GT Block timers beyond the block', mutate(good, (dv) => dv.setUint32(120, 0x20, true)), { structure: 'GTDT GT Block', offset: 120 }],
    ['watchdog too short', mutate(good, (dv) => dv.setUint16(205, 20, true)), { structure: 'GTDT Arm Generic Watchdog', offset: 204 }],
  ];
  for (const [name, bytes, want] of cases) {
    const g = parseGtdt(bytes);
    t.equal(g.problems.length, 1, `${name}: one problem`);
    const p = g.problems[0] ?? '';
    t.ok(p.startsWith(`${String(want.structure)} at offset ${want.offset === undefined ? '' : String(want.offset)}`), `${name}: names the structure and offset (${p})`);
    if (want.message instanceof RegExp) t.match(p, want.message, `${name}: why`);
    t.same(g.platformTimers, [], `${name}: no half-read platform timers`);
    t.equal(g.virtualEl1.gsiv, parseGtdt(good).virtualEl1.gsiv, `${name}: virtual timer still read`);
  }
  // An unknown timer type is stepped over by its Length.
  const odd = mutate(good, (_, b) => { b[204] = 7; });
  t.match(parseGtdt(odd).platformTimers[1], { type: 7, typeName: 'Reserved', length: 28 });
});
