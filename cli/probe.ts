import type { Command } from 'commander';
import { writeStdout } from './stdout.js';

/** `vmspec probe list`: the registered probes. */
export function addProbeCommands(program: Command): void {
  program
    .command('probe')
    .description('list the registered probes')
    .command('list')
    .description('list probes with their input and summary')
    .action(async () => {
      const { PROBES } = await import('../probes/registry.js');
      for (const p of PROBES) writeStdout(`${p.name.padEnd(24)} ${p.input.padEnd(9)} ${p.summary}\n`);
    });
}
