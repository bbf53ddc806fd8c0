import type { Command } from 'commander';
import type { Selection } from './results.js';
import { profileNames, splitList } from './select.js';

/**
 * The selection options every command that judges clauses takes (verify,
 * boot, lava-job), and how they become a Selection (runner/select.ts).
 */
export interface SelectionFlags {
  spec: string;
  profile?: string;
  only?: string[];
  section?: string[];
  level?: string[];
  target?: string[];
  tags?: string[];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addSelectionOptions(cmd: Command, opts: { specHelp?: string } = {}): Command {
  return cmd
    .option('--spec <name|dir>', opts.specHelp ?? 'spec to check against: vmspec-v2, vmspec-v1, or a directory with spec.yaml', 'vmspec-v2')
    .option('--profile <name>', `named selection (${profileNames().join(', ')})`)
    .option('--only <ids>', 'requirement ids or globs, comma-separated (e.g. V2-IMG-*)', collect)
    .option('--section <title>', 'section title or part of it (repeatable)', collect)
    .option('--level <level>', 'MUST, SHOULD, ... or "mandatory" (repeatable, comma-separated)', collect)
    .option('--target <kind>', 'image, firmware, hypervisor or guest (repeatable, comma-separated)', collect)
    .option('--tags <tag>', 'requirements carrying a tag (repeatable, comma-separated)', collect);
}

export function selectionFrom(o: Omit<SelectionFlags, 'spec'>): Selection {
  return {
    profile: o.profile ?? null,
    only: splitList(o.only),
    section: o.section ?? [],
    level: splitList(o.level),
    target: splitList(o.target),
    tags: splitList(o.tags),
  };
}
