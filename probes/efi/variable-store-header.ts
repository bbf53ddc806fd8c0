import { ParseError } from '../../bytes/errors.js';
import { gEfiAuthenticatedVariableGuid, gEfiVariableGuid, guidText } from './guids.js';
import { hex } from '../../bytes/hex.js';
import type { LeReader } from '../../bytes/le-reader.js';
import type { VarStoreProblem } from './problems.js';

/**
 * VARIABLE_STORE_HEADER (MdeModulePkg/Include/Guid/VariableFormat.h): the
 * header of the variable region, right after the volume header.
 */

const S = 'VARIABLE_STORE_HEADER';
/** sizeof (VARIABLE_STORE_HEADER): Signature 16, Size 4, Format 1, State 1, Reserved 2, Reserved1 4. */
export const VARIABLE_STORE_HEADER_BYTES = 28;
/** VARIABLE_STORE_FORMATTED (VariableFormat.h). */
export const VARIABLE_STORE_FORMATTED = 0x5a;
/** VARIABLE_STORE_HEALTHY (VariableFormat.h). */
export const VARIABLE_STORE_HEALTHY = 0xfe;

/** VARIABLE_STORE_STATUS as edk2's GetVariableStoreStatus() decides it (EfiRaw, an erased header, is a ParseError here) (MdeModulePkg/Universal/Variable/RuntimeDxe/VariableParsing.c). */
export type VariableStoreStatus = 'EfiValid' | 'EfiInvalid';

export interface VariableStoreHeader {
  /** File offset of this header. */
  offset: number;
  /** EFI_GUID Signature: gEfiVariableGuid or gEfiAuthenticatedVariableGuid. */
  Signature: string;
  /** The store holds AUTHENTICATED_VARIABLE_HEADERs (Signature is gEfiAuthenticatedVariableGuid). */
  authenticated: boolean;
  /** UINT32 Size: the whole store including this header, not the FV header. */
  Size: number;
  /** UINT8 Format: VARIABLE_STORE_FORMATTED (0x5A). */
  Format: number;
  /** UINT8 State: VARIABLE_STORE_HEALTHY (0xFE). */
  State: number;
  status: VariableStoreStatus;
}

/**
 * The store header at `offset`, whose store must end within `limit` (the end
 * of the volume). An unknown Signature or a Size that does not fit is a
 * ParseError: nothing after it can be located. A store that is not
 * formatted and healthy is a problem, still walked.
 */
export function parseVariableStoreHeader(input: LeReader, offset: number, limit: number, problems: VarStoreProblem[]): VariableStoreHeader {
  const r = input.as(S);
  r.need(offset, VARIABLE_STORE_HEADER_BYTES, 'the header');
  const sig = r.slice(offset, 16, 'Signature');
  const Size = r.u32(offset + 16, 'Size');
  const Format = r.u8(offset + 20, 'Format');
  const State = r.u8(offset + 21, 'State');
  if (sig.every((b) => b === 0xff) && Size === 0xffffffff && Format === 0xff && State === 0xff) {
    // edk2's EfiRaw: an erased region the variable driver would format.
    throw new ParseError(S, offset, 'the variable store header is erased (all 0xFF): the firmware has not formatted this store yet');
  }
  const Signature = guidText(sig);
  const authenticated = Signature === gEfiAuthenticatedVariableGuid;
  if (!authenticated && Signature !== gEfiVariableGuid) {
    throw new ParseError(S, offset, `Signature ${Signature} is neither gEfiVariableGuid (${gEfiVariableGuid}) nor gEfiAuthenticatedVariableGuid (${gEfiAuthenticatedVariableGuid})`);
  }
  if (Size < VARIABLE_STORE_HEADER_BYTES || offset + Size > limit) {
    throw new ParseError(S, offset + 16, `Size ${Size} does not fit: the store must hold its own ${VARIABLE_STORE_HEADER_BYTES}-byte header and end within the volume (at most ${limit - offset} bytes from offset ${offset})`);
  }
  const status: VariableStoreStatus = Format === VARIABLE_STORE_FORMATTED && State === VARIABLE_STORE_HEALTHY ? 'EfiValid' : 'EfiInvalid';
  if (Format !== VARIABLE_STORE_FORMATTED) problems.push({ structure: S, offset: offset + 20, message: `Format ${hex(Format)} is not VARIABLE_STORE_FORMATTED (0x5a)` });
  if (State !== VARIABLE_STORE_HEALTHY) problems.push({ structure: S, offset: offset + 21, message: `State ${hex(State)} is not VARIABLE_STORE_HEALTHY (0xfe)` });
  return { offset, Signature, authenticated, Size, Format, State, status };
}
