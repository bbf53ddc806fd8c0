import { Document } from 'yaml';

/**
 * A job definition as YAML LAVA reads. LAVA parses with PyYAML, a YAML 1.1
 * reader: 1.1 output quotes the strings 1.1 would take for booleans (on,
 * off, yes, no). No line folding, so steps arrive exactly as written.
 */
export function jobYaml(definition: unknown, header: string): string {
  const doc = new Document(definition, { version: '1.1' });
  doc.commentBefore = header.split('\n').map((l) => ` ${l}`).join('\n');
  return doc.toString({ lineWidth: 0, minContentWidth: 0 });
}
