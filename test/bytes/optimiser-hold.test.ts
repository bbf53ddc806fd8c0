/**
 * The optimiser hold, observed through V8 itself (%GetOptimizationStatus,
 * natives syntax switched on for this test process only): a function made
 * hot under a hold stays unoptimised, and is optimised once the last hold
 * is released; holds nest; a Node started with its own TurboFan flag is
 * left as it was.
 */
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { holdOptimiser, optimiserHeld, userChoseOptimiser } from '../../bytes/optimiser-hold.js';

setFlagsFromString('--allow-natives-syntax');
const status = new Function('f', 'return %GetOptimizationStatus(f)') as (f: unknown) => number;
/** V8's OptimizationStatus bit for "optimised" (src/runtime/runtime.h). */
const OPTIMIZED = 1 << 4;

let serial = 0;
/** A fresh function with a hot loop, its source its own (so V8's compilation cache gives it no history). */
const hotFunction = (): ((n: number) => number) =>
  new Function('n', `let s = ${++serial}; for (let i = 0; i < n; i++) s = (s + i * 7) | 0; return s;`) as (n: number) => number;

/**
 * Calls `f` in rounds (turns of the event loop between them, so a concurrent compile can finish) until V8 optimises it:
 * the round it was optimised in, or -1 after `rounds`. Bounded by calls, not by time.
 */
async function roundsUntilOptimised(f: (n: number) => number, rounds = 300): Promise<number> {
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < 200; k++) f(1000);
    if (status(f) & OPTIMIZED) return r;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return -1;
}

t.test('without a hold, V8 optimises a hot function (the probe works)', async (t) => {
  t.notOk(optimiserHeld());
  t.not(await roundsUntilOptimised(hotFunction()), -1, 'optimised');
});

t.test('under a hold nothing is optimised; released, the same function is', async (t) => {
  const release = holdOptimiser();
  t.ok(optimiserHeld(), 'held');
  const f = hotFunction();
  t.equal(await roundsUntilOptimised(f), -1, `not optimised after 60,000 calls (status 0b${status(f).toString(2)})`);
  release();
  t.notOk(optimiserHeld(), 'released');
  t.not(await roundsUntilOptimised(f), -1, 'optimised once released');
});

t.test('holds nest, and a release counts once', async (t) => {
  const first = holdOptimiser();
  const second = holdOptimiser();
  first();
  first();
  t.ok(optimiserHeld(), 'still held by the second after the first was released twice');
  const f = hotFunction();
  t.equal(await roundsUntilOptimised(f, 100), -1, 'and nothing is optimised');
  second();
  t.notOk(optimiserHeld(), 'released by the last');
  t.not(await roundsUntilOptimised(f), -1, 'optimised');
});

t.test("a Node started with its own TurboFan flag is left as it was", async (t) => {
  t.ok(userChoseOptimiser(['--no-opt'], undefined), '--no-opt');
  t.ok(userChoseOptimiser(['--turbofan'], ''), '--turbofan');
  t.ok(userChoseOptimiser([], '--max-old-space-size=512 --no-turbofan'), 'in NODE_OPTIONS');
  t.ok(userChoseOptimiser(['--no_opt'], undefined), 'with underscores, as V8 also reads them');
  t.notOk(userChoseOptimiser(['--optimize-for-size', '--enable-source-maps'], '--require x.cjs'), 'other flags');
  t.notOk(userChoseOptimiser([], undefined), 'none');
  process.execArgv.push('--opt');
  try {
    const release = holdOptimiser();
    t.notOk(optimiserHeld(), 'no hold is taken');
    release();
  } finally {
    process.execArgv.pop();
  }
});
