/**
 * VARIABLE_HEADER.State (MdeModulePkg/Include/Guid/VariableFormat.h). Flash
 * bits only go 1 -> 0, so edk2 moves a variable through its life by ANDing
 * these masks into the erased 0xFF:
 *   0xFF                         header being written
 *   0x7F VAR_HEADER_VALID_ONLY   header complete, name/data not yet
 *   0x3F VAR_ADDED               complete
 *   0x3E VAR_ADDED & VAR_IN_DELETED_TRANSITION   an update is replacing it
 *   0x3C/0x3D ... & VAR_DELETED  obsolete
 */

/** VAR_IN_DELETED_TRANSITION (VariableFormat.h). */
export const VAR_IN_DELETED_TRANSITION = 0xfe;
/** VAR_DELETED (VariableFormat.h). */
export const VAR_DELETED = 0xfd;
/** VAR_HEADER_VALID_ONLY (VariableFormat.h). */
export const VAR_HEADER_VALID_ONLY = 0x7f;
/** VAR_ADDED (VariableFormat.h). */
export const VAR_ADDED = 0x3f;

export type VariableState = 'added' | 'in-deleted-transition' | 'deleted' | 'header-valid-only' | 'invalid';

/** The bit VAR_HEADER_VALID_ONLY clears: the header was completely written. */
const HEADER_VALID_BIT = 0x80;
/** The bit VAR_DELETED clears. */
const DELETED_BIT = 0x02;

/**
 * What a State byte means. A valid header whose deleted bit is cleared is
 * deleted, whatever else happened to it; otherwise only the exact values
 * edk2's FindVariableEx() accepts are live (0x3F added, 0x3E in transition);
 * 0x7F/0x7E never finished being added; the rest (0xFF: the header itself
 * was never completed; stray bit patterns) is invalid.
 */
export function variableState(state: number): VariableState {
  if ((state & HEADER_VALID_BIT) === 0 && (state & DELETED_BIT) === 0) return 'deleted';
  if (state === VAR_ADDED) return 'added';
  if (state === (VAR_ADDED & VAR_IN_DELETED_TRANSITION)) return 'in-deleted-transition';
  if (state === VAR_HEADER_VALID_ONLY || state === (VAR_HEADER_VALID_ONLY & VAR_IN_DELETED_TRANSITION)) return 'header-valid-only';
  return 'invalid';
}
