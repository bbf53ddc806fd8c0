import ora from 'ora';

export interface ProgressReporter {
  update(message: string): void;
  done(message: string): void;
  fail(): void;
}

/** A spinner on an interactive stderr; silent otherwise (CI logs stay clean). */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  if (!stream.isTTY) return { update: () => {}, done: () => {}, fail: () => {} };
  const spinner = ora({ stream, isEnabled: true }).start();
  return {
    update: (m) => {
      spinner.text = m;
    },
    done: (m) => {
      spinner.succeed(m);
    },
    fail: () => {
      spinner.fail();
    },
  };
}
