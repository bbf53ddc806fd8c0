import { defineProbe } from '../types.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { arr, bool, enumOf, type FactsOf, int, nbool, nint, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.efivars`: the UEFI variables efivarfs showed the guest (name,
 * vendor GUID, attributes, data size) and the persistence test of
 * collect.sh: phase `write` creates VmspecNonce<N>-<vmspec GUID> holding
 * the nonce; phase `check`, after a full power cycle with the same
 * variable store, looks for it and never re-creates it. A check-phase
 * bundle without the variable (or with other content) is the failure,
 * with the listing as evidence.
 */

export const EFIVARS = '/sys/firmware/efi/efivars';
export const EFI_GLOBAL_GUID = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
/** collect.sh's vendor GUID for its test variable. */
export const VMSPEC_GUID = 'd960bf04-3984-4c09-8f49-6e746736ed9f';
const MAX_LISTED = 1024;
const MAX_VARIABLE_BYTES = 4 * 1024 * 1024;

/** EFI_VARIABLE_* attribute bits (UEFI 2.10 §8.2). */
const ATTRIBUTE_NAMES: [number, string][] = [
  [0x1, 'NON_VOLATILE'],
  [0x2, 'BOOTSERVICE_ACCESS'],
  [0x4, 'RUNTIME_ACCESS'],
  [0x8, 'HARDWARE_ERROR_RECORD'],
  [0x10, 'AUTHENTICATED_WRITE_ACCESS'],
  [0x20, 'TIME_BASED_AUTHENTICATED_WRITE_ACCESS'],
  [0x40, 'APPEND_WRITE'],
];

export function attributeNames(attrs: number): string[] {
  return ATTRIBUTE_NAMES.filter(([bit]) => (attrs & bit) !== 0).map(([, n]) => n);
}

const variable = obj({
  name: str(),
  guid: str(),
  attributes: nint('EFI_VARIABLE_* bits; null when the data could not be read'),
  attributeNames: arr(str()),
  nonVolatile: nbool(),
  runtimeAccess: nbool(),
  dataBytes: nint(),
});

const facts = obj({
  available: bool('efivarfs contents are in the evidence'),
  efivarfs: nstr('how the collector found efivarfs: already-mounted, mounted, mount-failed, …'),
  count: int(),
  truncated: bool(`more than ${MAX_LISTED} variables: the list holds the first ${MAX_LISTED}`),
  variables: arr(variable),
  boot: obj({
    bootOrder: arr(str(), 'Boot#### entries in BootOrder'),
    bootCurrent: nstr(),
    secureBoot: nint('SecureBoot variable (1 enabled, 0 disabled)'),
    setupMode: nint(),
  }),
  persistence: obj({
    phase: enumOf(['write', 'check', null], 'the collector\'s persistence phase for this bundle; null when it ran no test'),
    nonce: nstr(),
    variable: nstr('efivarfs name of the test variable'),
    result: nstr('what the collector recorded: write: written | already-present | write-failed | unavailable; check: present | absent | unavailable'),
    reason: nstr(),
    inEvidence: bool('the test variable is in the bundle\'s efivarfs listing'),
    content: nstr('the variable\'s data as text (from the bundle\'s copy, else from the manifest)'),
    contentMatchesNonce: nbool(),
    attributes: nint(),
    nonVolatile: nbool(),
  }),
  ...SOURCE_FACTS,
});

function u32le(b: Uint8Array): number {
  return ((b[0] ?? 0) | ((b[1] ?? 0) << 8) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 24)) >>> 0;
}

export const efivarsEvidenceProbe = defineProbe({
  name: 'evidence.efivars',
  summary: 'UEFI variables (names, GUIDs, attributes) and the two-boot persistence test of collect.sh',
  input: 'evidence',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    const t = tracker(inputs, 'evidence.efivars');
    const manifest = inputs.evidence?.manifest;
    const names = t.list(EFIVARS);
    const listed = (names ?? []).filter((n) => /^.+-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(n));
    const data = new Map<string, Uint8Array | undefined>();
    const read = (file: string): Uint8Array | undefined => {
      if (!data.has(file)) data.set(file, t.bytes(`${EFIVARS}/${file}`, MAX_VARIABLE_BYTES));
      return data.get(file);
    };
    const variables: FactsOf<typeof facts>['variables'] = listed.slice(0, MAX_LISTED).map((file) => {
      const b = read(file);
      const attrs = b !== undefined && b.length >= 4 ? u32le(b) : null;
      return {
        name: file.slice(0, -37),
        guid: file.slice(-36).toLowerCase(),
        attributes: attrs,
        attributeNames: attrs === null ? [] : attributeNames(attrs),
        nonVolatile: attrs === null ? null : (attrs & 1) !== 0,
        runtimeAccess: attrs === null ? null : (attrs & 4) !== 0,
        dataBytes: b === undefined ? null : Math.max(0, b.length - 4),
      };
    });
    const globalVar = (name: string): Uint8Array | undefined => {
      const file = listed.find((f) => f.toLowerCase() === `${name}-${EFI_GLOBAL_GUID}`.toLowerCase());
      const b = file === undefined ? undefined : read(file);
      return b === undefined || b.length < 4 ? undefined : b.subarray(4);
    };
    const order = globalVar('BootOrder');
    const bootOrder: string[] = [];
    for (let i = 0; order && i + 1 < order.length; i += 2) bootOrder.push(`Boot${((order[i] ?? 0) | ((order[i + 1] ?? 0) << 8)).toString(16).toUpperCase().padStart(4, '0')}`);
    const current = globalVar('BootCurrent');
    const byte = (b: Uint8Array | undefined) => (b !== undefined && b.length >= 1 ? (b[0] ?? null) : null);

    const test = manifest?.efiVariableTest ?? null;
    const testFile = test ? listed.find((f) => f === test.name) : undefined;
    const testBytes = testFile ? read(testFile) : undefined;
    const fileContent = testBytes !== undefined && testBytes.length >= 4 ? new TextDecoder('latin1').decode(testBytes.subarray(4)) : null;
    const content = fileContent ?? test?.content ?? null;
    const attrs = testBytes !== undefined && testBytes.length >= 4 ? u32le(testBytes) : test?.attributes && /^[0-9a-f]{8}$/i.test(test.attributes) ? u32le(Uint8Array.from(Buffer.from(test.attributes, 'hex'))) : null;

    const out: FactsOf<typeof facts> = {
      available: names !== undefined,
      efivarfs: manifest?.efivarfs ?? null,
      count: listed.length,
      truncated: listed.length > MAX_LISTED,
      variables,
      boot: {
        bootOrder,
        bootCurrent: current && current.length >= 2 ? `Boot${((current[0] ?? 0) | ((current[1] ?? 0) << 8)).toString(16).toUpperCase().padStart(4, '0')}` : null,
        secureBoot: byte(globalVar('SecureBoot')),
        setupMode: byte(globalVar('SetupMode')),
      },
      persistence: {
        phase: test?.phase ?? null,
        nonce: test?.nonce ?? null,
        variable: test?.name ?? null,
        result: test?.result ?? null,
        reason: test?.reason ?? null,
        inEvidence: testFile !== undefined,
        content,
        contentMatchesNonce: test && content !== null ? content === test.nonce : test ? false : null,
        attributes: attrs,
        nonVolatile: attrs === null ? null : (attrs & 1) !== 0,
      },
      ...t.sourceFacts(),
    };
    return out;
  },
});
