import type { Bench, BenchContext, Row } from './harness.js';
import { CLI } from './images.js';
import { compareRoutes, type Route } from './routes.js';

/** Start-up: the commands that load the least, against a bare Node start. */
async function run(ctx: BenchContext): Promise<Row[]> {
  const node: Route = { name: 'node -e 0', steps: [[process.execPath, '-e', '0']] };
  const commands: Route[] = [
    { name: 'vmspec --version', steps: [[process.execPath, CLI, '--version']] },
    { name: 'vmspec --help', steps: [[process.execPath, CLI, '--help']] },
    { name: 'vmspec spec list', steps: [[process.execPath, CLI, 'spec', 'list']] },
  ];
  const rounds = ctx.rounds * 2; // cheap commands: more samples for the same noise
  ctx.log(`start-up: ${commands.length + 1} routes × ${rounds} rounds, interleaved…`);
  const times = compareRoutes([node, ...commands], rounds);
  return commands.map((c) => ({ what: `start-up: ${c.name}`, vmspec: times.get(c.name)!, peer: { name: node.name, result: times.get(node.name)! }, target: c.name === 'vmspec --version' ? { kind: 'ratio', max: 1.2 } : { kind: 'none' } }));
}

export default { title: 'start-up', run } satisfies Bench;
