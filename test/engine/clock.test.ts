import t from 'tap';
import { monotonicMs } from '../../engine/clock.js';

t.test('monotonicMs counts milliseconds and never goes back', async (t) => {
  const a = monotonicMs();
  const started = Date.now();
  while (Date.now() - started < 20) {
    // spin: a timer could fire early or late, and the clock is what is under test
  }
  const b = monotonicMs();
  t.ok(b >= a + 15, `at least ~20 ms passed on the clock (${(b - a).toFixed(3)} ms)`);
  t.ok(b - a < 60_000, 'in milliseconds, not nanoseconds');
});
