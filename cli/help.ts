/** The exit codes and environment `vmspec --help` and `vmspec verify --help` end with. */
export const EXIT_HELP = `
Exit codes:
  0  every selected MUST/SHALL clause passed (or was waived)
  1  a MUST/SHALL clause failed (spec lint: problems found)
  2  usage or input error (bad option, unreadable image or spec)
  3  a probe could not run (the verdict is incomplete)

Environment:
  NO_COLOR      disable colour (colour is used only on a terminal)
  FORCE_COLOR   force colour
  VMSPEC_DEBUG  print stack traces for internal errors`;
