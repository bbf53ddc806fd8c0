/** The exit codes and environment `vmspec --help` and `vmspec verify --help` end with. */
export const EXIT_HELP = `
Exit codes:
  0  every selected MUST/SHALL clause passed (or was waived)
  1  a MUST/SHALL clause failed (spec lint: problems found)
  2  usage or input error (bad option, unreadable image or spec)
  3  a probe could not run (the verdict is incomplete)
  4  a MUST/SHALL clause is undecided: it applies, but its input was missing
     or unreadable (e.g. a root filesystem vmspec cannot read); not a pass.
     Precedence: 1, then 3, then 4. Undecided SHOULD/MAY clauses are
     reported (UNDECIDED) but, like their failures, leave the exit code alone

Environment:
  NO_COLOR      disable colour (colour is used only on a terminal)
  FORCE_COLOR   force colour
  VMSPEC_DEBUG  print stack traces for internal errors`;
