/** A LAVA inline test definition (`from: inline`), as the job carries it. */
export interface InlineDefinition {
  from: 'inline';
  name: string;
  path: string;
  repository: {
    metadata: { format: 'Lava-Test Test Definition 1.0'; name: string; description: string };
    run: { steps: string[] };
  };
}

/**
 * A run step that writes `content` to `path` through a quoted here-document
 * (no expansion inside). LAVA copies each step verbatim into the test
 * shell's run script, so a multi-line step arrives whole. The delimiter
 * must not occur as a line of the content, or the file would end early.
 */
export function writeFileStep(path: string, content: string, delimiter: string): string {
  if (!/^[A-Z][A-Z0-9_]*$/.test(delimiter)) throw new Error(`here-document delimiter ${delimiter} must be upper-case letters, digits and underscores`);
  if (content.split('\n').includes(delimiter)) throw new Error(`${path}: the content has a line "${delimiter}", which would end the here-document early`);
  const body = content.endsWith('\n') ? content : `${content}\n`;
  return `cat > ${path} <<'${delimiter}'\n${body}${delimiter}`;
}

/** The steps' text as the shell sees it (for shellcheck and tests). */
export function runScript(def: InlineDefinition): string {
  return `#!/bin/sh\n${def.repository.run.steps.join('\n')}\n`;
}

export function inlineDefinition(name: string, description: string, steps: string[]): InlineDefinition {
  return {
    from: 'inline',
    name,
    path: `inline/${name}.yaml`,
    repository: {
      metadata: { format: 'Lava-Test Test Definition 1.0', name, description },
      run: { steps },
    },
  };
}
