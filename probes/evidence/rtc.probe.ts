import { defineProbe } from '../types.js';
import { dmesgFacts } from './dmesg.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { arr, bool, type FactsOf, int, nbool, nint, nobj, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.rtc`: the guest's RTC devices (/sys/class/rtc/rtcN: name,
 * since_epoch, date, time, hctosys) and whether one is rtc-efi — Linux's
 * driver for the UEFI GetTime/SetTime runtime services, registered only
 * when the firmware advertises GetTime and probed by calling it. Under
 * UEFI the firmware owns the RTC hardware (edk2 marks QEMU's PL031
 * disabled), so rtc-efi, not rtc-pl031, is the right answer.
 *
 * The rtc-efi reading is compared with the collection clock the manifest
 * records (collect.sh's start and end, guest time; without a manifest, its
 * `date -u +%s` in cmd/date-u) — or, live, with this machine's clock —
 * within `toleranceSeconds`; `notBefore` catches an RTC
 * that was never set (1970). SetTime is not exercised: collecting evidence
 * never writes the clock.
 */

export const RTC_CLASS = '/sys/class/rtc';

const deviceProps = {
  rtc: str('rtc0, rtc1, …'),
  name: nstr('the name attribute: driver and device ("rtc-efi rtc-efi.0")'),
  driver: nstr('first word of name ("rtc-efi", "rtc-pl031")'),
  sinceEpoch: nint(),
  date: nstr(),
  time: nstr(),
  hctosys: nbool('this RTC set the system clock at boot'),
};
const device = obj(deviceProps);

const facts = obj({
  devices: arr(device),
  rtc0: nobj(deviceProps, 'rtc0, the RTC user space reads by default'),
  efi: obj({
    present: bool('an RTC driven by rtc-efi (UEFI time services) exists'),
    rtc: nstr(),
    sinceEpoch: nint(),
    readable: bool('its time could be read (GetTime works)'),
    plausible: nbool('its time is not before notBefore'),
    driftSeconds: nint('seconds outside the reference window (0 inside it); null without a reference or reading'),
    withinTolerance: nbool('|driftSeconds| <= toleranceSeconds'),
  }),
  reference: obj({
    source: nstr('"collection clock (manifest)", "collection clock (cmd/date-u)" or "local clock (live)"'),
    from: nint('epoch seconds'),
    to: nint('epoch seconds'),
  }),
  toleranceSeconds: int(),
  ...SOURCE_FACTS,
});

export const rtcEvidenceProbe = defineProbe({
  name: 'evidence.rtc',
  summary: 'RTC devices (rtc-efi vs others), their time against the collection clock',
  input: 'evidence',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      toleranceSeconds: { type: 'integer', minimum: 0, maximum: 86400, default: 300, description: 'allowed difference between the RTC and the collection clock' },
      notBefore: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', default: '2020-01-01', description: 'an RTC reading before this date (UTC) was never set' },
    },
  },
  facts,
  run(inputs, params) {
    const t = tracker(inputs, 'evidence.rtc');
    const tolerance = typeof params.toleranceSeconds === 'number' ? params.toleranceSeconds : 300;
    const notBefore = Date.parse(`${typeof params.notBefore === 'string' ? params.notBefore : '2020-01-01'}T00:00:00Z`) / 1000;
    const dmesg = dmesgFacts(t);
    const names = (t.list(RTC_CLASS) ?? []).filter((n) => /^rtc\d+$/.test(n));
    const devices = names.map((rtc) => {
      const base = `${RTC_CLASS}/${rtc}`;
      const name = t.line(`${base}/name`) ?? null;
      const since = t.line(`${base}/since_epoch`);
      const hctosys = t.line(`${base}/hctosys`);
      // Older kernels name the device only: fall back to the boot log's "rtc-efi rtc-efi.0: registered as rtc0".
      const logged = dmesg.rtcRegistered.find((r) => r.rtc === rtc)?.device ?? null;
      const driverName = name ?? logged;
      return {
        rtc,
        name,
        driver: driverName ? (driverName.split(/\s+/)[0] ?? null) : null,
        sinceEpoch: since !== undefined && /^\d+$/.test(since) ? Number(since) : null,
        date: t.line(`${base}/date`) ?? null,
        time: t.line(`${base}/time`) ?? null,
        hctosys: hctosys === undefined ? null : hctosys === '1',
      };
    });
    const efi = devices.find((d) => d.driver === 'rtc-efi');
    const manifest = inputs.evidence?.manifest;
    let reference: { source: string | null; from: number | null; to: number | null };
    if (manifest && manifest.startedAtEpoch !== null) {
      reference = { source: 'collection clock (manifest)', from: manifest.startedAtEpoch, to: manifest.finishedAtEpoch ?? manifest.startedAtEpoch };
    } else if (/^\d+$/.test(t.line('/cmd/date-u') ?? '')) {
      // No manifest: the guest clock collect.sh recorded with `date -u +%s`.
      const at = Number(t.line('/cmd/date-u'));
      reference = { source: 'collection clock (cmd/date-u)', from: at, to: at };
    } else if (inputs.evidence?.kind === 'live') {
      const now = Math.floor(Date.now() / 1000);
      reference = { source: 'local clock (live)', from: now, to: now };
    } else {
      reference = { source: null, from: null, to: null };
    }
    let drift: number | null = null;
    const since = efi?.sinceEpoch ?? null;
    if (since !== null && reference.from !== null && reference.to !== null) {
      drift = since < reference.from ? since - reference.from : since > reference.to ? since - reference.to : 0;
    }
    const out: FactsOf<typeof facts> = {
      devices,
      rtc0: devices.find((d) => d.rtc === 'rtc0') ?? null,
      efi: {
        present: efi !== undefined,
        rtc: efi?.rtc ?? null,
        sinceEpoch: since,
        readable: since !== null,
        plausible: since === null ? null : since >= notBefore,
        driftSeconds: drift,
        withinTolerance: drift === null ? null : Math.abs(drift) <= tolerance,
      },
      reference,
      toleranceSeconds: tolerance,
      ...t.sourceFacts(),
    };
    return out;
  },
});
