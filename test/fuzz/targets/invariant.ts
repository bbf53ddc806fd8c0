/** A result that is wrong although no error was thrown: the fuzz property fails on it like on an untyped error. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export function invariant(ok: boolean, what: string): asserts ok {
  if (!ok) throw new InvariantViolation(`invariant broken: ${what}`);
}
