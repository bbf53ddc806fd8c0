import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { openDisk } from '../image/open-disk.js';
import { attributeFlags } from './variable-attributes.js';
import { EFI_FVH_SIGNATURE, FV_HEADER_FIXED_BYTES, MAX_FV_BYTES, parseFirmwareVolumeHeader, type FirmwareVolumeHeader } from './firmware-volume.js';
import { findFtwWorkingBlock, FTW_WORKING_BLOCK_HEADER_BYTES, type FtwWorkingBlock } from './ftw-working-block.js';
import { hex } from '../../bytes/hex.js';
import { LeReader } from '../../bytes/le-reader.js';
import type { VarStoreProblem } from './problems.js';
import { effectiveSizes, headerAlign, parseVariableHeader, peekStartId, VARIABLE_DATA, type AuthenticatedFields } from './variable-header.js';
import { variableState, type VariableState } from './variable-state.js';
import { parseVariableStoreHeader, VARIABLE_STORE_HEADER_BYTES, type VariableStoreHeader } from './variable-store-header.js';

/**
 * The edk2 non-volatile variable store as a QEMU/AAVMF pflash vars file
 * holds it (ArmVirtPkg/VarStore.fdf.inc):
 *
 *   0        EFI_FIRMWARE_VOLUME_HEADER (FileSystemGuid gEfiSystemNvDataFvGuid, "_FVH")
 *   HeaderLength  VARIABLE_STORE_HEADER (gEfiAuthenticatedVariableGuid, Size)
 *            variables, each HEADER_ALIGN'ed: header, UTF-16LE name, data
 *            ... erased flash (0xFF) up to the store's end
 *   HeaderLength + Size  EFI_FAULT_TOLERANT_WORKING_BLOCK_HEADER, then the FTW spare block
 *
 * Read only; every length is checked against the bytes and the store. A
 * header that makes the store unlocatable is a ParseError; damage further in
 * is a problem and ends the walk, keeping what came before.
 */

/** Most variables walked: far more than any real store (a 256 KiB store holds < 8192 headers). */
export const MAX_VARIABLES = 65_536;
/** Bytes looked at to call an unformatted file blank. */
export const BLANK_CHECK_BYTES = 4096;

export interface StoredVariable {
  /** File offset of the variable's header. */
  offset: number;
  /** The name, decoded from UTF-16LE up to its NUL. */
  name: string;
  /** VendorGuid, lower-case canonical text. */
  guid: string;
  /** EFI_VARIABLE_* bits. */
  attributes: number;
  /** Short names of the attribute bits: NV, BS, RT, HR, AW, AT, AP, EA. */
  flags: string[];
  state: VariableState;
  /** The raw State byte. */
  stateByte: number;
  /** Effective NameSize / DataSize (0 for an interrupted header, as edk2 counts it). */
  nameSize: number;
  dataSize: number;
  /** File offset of the data. */
  dataOffset: number;
  /** A copy of the data. */
  data: Uint8Array;
  /** MonotonicCount, TimeStamp, PubKeyIndex in an authenticated store. */
  authenticated?: AuthenticatedFields;
}

/** Why the walk stopped. */
export type WalkEnd =
  /** erased flash (StartId 0xFFFF and the rest of the header 0xFF): the normal end */
  | 'erased'
  /** bytes that are neither a variable nor erased flash */
  | 'not-a-variable'
  /** no room for another header before the store's end */
  | 'end-of-store'
  /** a variable whose sizes run past the store (see problems) */
  | 'bad-variable'
  /** MAX_VARIABLES reached */
  | 'limit';

export interface VarStore {
  kind: 'store';
  /** Size of what was read: the bytes given, or the whole file for readVarStore(). */
  sourceBytes: number;
  fv: FirmwareVolumeHeader;
  store: VariableStoreHeader;
  /** Every header in the store, in order: live, deleted, half-written. */
  variables: StoredVariable[];
  end: {
    /** File offset where the walk stopped. */
    offset: number;
    reason: WalkEnd;
    /** Bytes from there to the store's end (free space when `erased`). */
    remainingBytes: number;
  };
  /** The FTW working block header right after the store, when there. */
  ftwWorkingBlock: FtwWorkingBlock | null;
  problems: VarStoreProblem[];
}

/** A vars file no firmware has formatted yet: Debian's AAVMF_VARS.fd is all zeros; edk2 formats it on first boot. */
export interface BlankVarStore {
  kind: 'blank';
  /** The byte the file is filled with (0x00, or 0xFF for erased flash). */
  fill: number;
  /** How many leading bytes were checked. */
  checkedBytes: number;
  /** Size of what was read: the bytes given, or the whole file for readVarStore(). */
  sourceBytes: number;
  problems: VarStoreProblem[];
}

export type VarStoreReading = VarStore | BlankVarStore;

function blankFill(bytes: Uint8Array): number | undefined {
  const n = Math.min(bytes.length, BLANK_CHECK_BYTES);
  const fill = bytes[0];
  if (fill !== 0x00 && fill !== 0xff) return undefined;
  for (let i = 1; i < n; i++) if (bytes[i] !== fill) return undefined;
  return fill;
}

function decodeName(r: LeReader, offset: number, nameSize: number, where: number, problems: VarStoreProblem[], structure: string): string {
  const units = Math.floor(nameSize / 2);
  const raw = r.as(structure).slice(offset, units * 2, 'the variable name');
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let nul = -1;
  for (let i = 0; i < units; i++) {
    if (view.getUint16(i * 2, true) === 0) {
      nul = i;
      break;
    }
  }
  if (nameSize % 2 !== 0) problems.push({ structure, offset: where, message: `NameSize ${nameSize} is odd: a UTF-16 name has an even size` });
  if (nul < 0) {
    problems.push({ structure, offset: where, message: `the name is not NUL-terminated within NameSize ${nameSize}` });
  } else if (nul !== units - 1) {
    problems.push({ structure, offset: where, message: `the name ends at character ${nul}, before the end of NameSize ${nameSize}` });
  }
  return new TextDecoder('utf-16le').decode(raw.subarray(0, (nul < 0 ? units : nul) * 2));
}

/**
 * Parse a vars file's bytes (the volume from offset 0). Throws only
 * ParseError; never modifies `bytes`.
 */
export function parseVarStore(bytes: Uint8Array): VarStoreReading {
  const problems: VarStoreProblem[] = [];
  if (bytes.length < FV_HEADER_FIXED_BYTES) {
    throw new ParseError('EFI_FIRMWARE_VOLUME_HEADER', 0, `the input is ${bytes.length} bytes, shorter than the ${FV_HEADER_FIXED_BYTES}-byte volume header: not a vars file, or truncated`);
  }
  const r = new LeReader(bytes, 'EFI_FIRMWARE_VOLUME_HEADER');
  if (r.u32(40, 'Signature') !== EFI_FVH_SIGNATURE) {
    const fill = blankFill(bytes);
    if (fill !== undefined) return { kind: 'blank', fill, checkedBytes: Math.min(bytes.length, BLANK_CHECK_BYTES), sourceBytes: bytes.length, problems };
  }
  const fv = parseFirmwareVolumeHeader(r, problems);
  if (bytes.length < fv.FvLength) {
    problems.push({ structure: 'EFI_FIRMWARE_VOLUME_HEADER', offset: 32, message: `FvLength ${fv.FvLength} is larger than the ${bytes.length}-byte input: the file is truncated` });
  }
  const store = parseVariableStoreHeader(r, fv.HeaderLength, fv.FvLength, problems);

  const storeEnd = headerAlign(store.offset + store.Size);
  let limit = storeEnd;
  if (storeEnd > bytes.length) {
    limit = bytes.length;
    problems.push({ structure: 'VARIABLE_STORE_HEADER', offset: store.offset + 16, message: `the store ends at ${storeEnd} but the input ends at ${bytes.length}: the file is truncated` });
  }
  const structure = store.authenticated ? 'AUTHENTICATED_VARIABLE_HEADER' : 'VARIABLE_HEADER';
  const headerBytes = store.authenticated ? 60 : 32;
  const variables: StoredVariable[] = [];
  let off = headerAlign(store.offset + VARIABLE_STORE_HEADER_BYTES);
  let reason: WalkEnd;
  for (;;) {
    if (variables.length >= MAX_VARIABLES) {
      reason = 'limit';
      problems.push({ structure, offset: off, message: `more than ${MAX_VARIABLES} variable headers: stopped reading` });
      break;
    }
    if (off + headerBytes > limit) {
      reason = 'end-of-store';
      break;
    }
    if (peekStartId(r, off) !== VARIABLE_DATA) {
      const rest = r.as(structure).slice(off, headerBytes, 'StartId');
      reason = rest.every((b) => b === 0xff) ? 'erased' : 'not-a-variable';
      if (reason === 'not-a-variable') {
        problems.push({ structure, offset: off, message: `StartId ${hex(peekStartId(r, off) ?? 0)} is not VARIABLE_DATA (0x55aa) and the bytes are not erased flash: the store is damaged after this point` });
      }
      break;
    }
    const h = parseVariableHeader(r, off, store.authenticated);
    const { nameSize, dataSize } = effectiveSizes(h);
    const nameOffset = off + h.headerBytes;
    const dataOffset = nameOffset + nameSize;
    if (dataOffset + dataSize > limit) {
      reason = 'bad-variable';
      problems.push({
        structure,
        offset: off,
        message: `NameSize ${h.NameSize} + DataSize ${h.DataSize} run past the end of the store at ${limit} (the variable would end at ${dataOffset + dataSize})`,
      });
      break;
    }
    const name = nameSize === 0 ? '' : decodeName(r, nameOffset, nameSize, off + (store.authenticated ? 36 : 8), problems, structure);
    const v: StoredVariable = {
      offset: off,
      name,
      guid: h.VendorGuid,
      attributes: h.Attributes,
      flags: attributeFlags(h.Attributes),
      state: variableState(h.State),
      stateByte: h.State,
      nameSize,
      dataSize,
      dataOffset,
      data: r.as(structure).slice(dataOffset, dataSize, 'the variable data').slice(),
    };
    if (h.auth) v.authenticated = h.auth;
    if (nameSize === 0 && v.state !== 'invalid') problems.push({ structure, offset: off, message: 'NameSize is 0: every variable has a name' });
    variables.push(v);
    off = headerAlign(dataOffset + dataSize);
  }

  const ftwOffset = store.offset + store.Size;
  const ftwWorkingBlock = ftwOffset + FTW_WORKING_BLOCK_HEADER_BYTES <= fv.FvLength ? findFtwWorkingBlock(r, ftwOffset) : null;
  return {
    kind: 'store',
    sourceBytes: bytes.length,
    fv,
    store,
    variables,
    end: { offset: off, reason, remainingBytes: Math.max(0, storeEnd - off) },
    ftwWorkingBlock,
    problems,
  };
}

/**
 * What the firmware's GetVariable()/GetNextVariableName() would return
 * (edk2 FindVariableEx(), VariableParsing.c): per (VendorGuid, name), the
 * first VAR_ADDED copy; without one, the last copy in deleted transition.
 * In store order.
 */
export function liveVariables(store: VarStore): StoredVariable[] {
  const chosen = new Map<string, StoredVariable>();
  for (const v of store.variables) {
    const key = `${v.guid}\0${v.name}`;
    const have = chosen.get(key);
    if (v.state === 'added' && have?.state !== 'added') chosen.set(key, v);
    else if (v.state === 'in-deleted-transition' && (have === undefined || have.state === 'in-deleted-transition')) chosen.set(key, v);
  }
  return [...chosen.values()].sort((a, b) => a.offset - b.offset);
}

/** The live copy of one variable (guid in any case), or undefined. */
export function findLiveVariable(store: VarStore, name: string, guid: string): StoredVariable | undefined {
  const g = guid.toLowerCase();
  return liveVariables(store).find((v) => v.name === name && v.guid === g);
}

/**
 * Read a vars file through a ByteSource: the volume header first, then only
 * the volume (FvLength, capped at MAX_FV_BYTES), never the rest of a 64 MiB
 * flash image.
 */
export function readVarStore(src: ByteSource): VarStoreReading {
  const head = src.read(0, Math.min(src.size, BLANK_CHECK_BYTES));
  const whole = (reading: VarStoreReading): VarStoreReading => ({ ...reading, sourceBytes: src.size });
  if (head.length < FV_HEADER_FIXED_BYTES) return whole(parseVarStore(head));
  const r = new LeReader(head, 'EFI_FIRMWARE_VOLUME_HEADER');
  if (r.u32(40, 'Signature') !== EFI_FVH_SIGNATURE) return whole(parseVarStore(head));
  const fvLength = r.u64(32, 'FvLength');
  if (fvLength > BigInt(MAX_FV_BYTES)) {
    throw new ParseError('EFI_FIRMWARE_VOLUME_HEADER', 32, `FvLength ${fvLength} exceeds the ${MAX_FV_BYTES}-byte cap for a variable store volume`);
  }
  return whole(parseVarStore(src.read(0, Math.min(src.size, Number(fvLength)))));
}

/**
 * Read a vars file from disk, opened read-only (raw, or qcow2 through the
 * project's qcow2 reader). I/O failures are UnsupportedError naming the
 * file; malformed content is ParseError.
 */
export function readVarStoreFile(path: string): VarStoreReading {
  let image: ReturnType<typeof openDisk>;
  try {
    image = openDisk(path);
  } catch (e) {
    if (e instanceof ParseError || e instanceof UnsupportedError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new UnsupportedError(`cannot read the vars file ${path}: ${err.code ?? err.message}`, 'give the path of the instance\'s copy of the vars template (e.g. NAME_VARS.fd), readable by this user');
  }
  try {
    return readVarStore(image.disk);
  } finally {
    image.close();
  }
}
