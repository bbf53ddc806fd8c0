/**
 * Something wrong in a variable store that does not stop the rest of it
 * being read: where (the structure as edk2 names it, byte offset in the
 * file) and what.
 */
export interface VarStoreProblem {
  structure: string;
  offset: number;
  message: string;
}
