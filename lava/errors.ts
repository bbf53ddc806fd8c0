import { SelectionError } from '../engine/select.js';
import type { YamlIssue } from '../requirements/yaml-document.js';

/**
 * A lava-job input that cannot be used (bad option, URL, matrix entry).
 * A usage error (exit 2): it extends SelectionError so the CLI maps it so.
 */
export class LavaJobError extends SelectionError {}

/** A matrix file with problems: every one with file:line:column. */
export class MatrixError extends LavaJobError {
  constructor(readonly issues: YamlIssue[]) {
    super(`the matrix file has errors:\n${issues.map((i) => `  ${i.file}:${i.line}:${i.column}: ${i.message}`).join('\n')}`);
  }
}
