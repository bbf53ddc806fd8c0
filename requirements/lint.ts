import { Ajv } from 'ajv';
import { findProbe } from '../probes/registry.js';
import type { Schema } from '../probes/types.js';
import { operatorOf } from './expect.js';
import type { Expectation, Requirement } from './requirement.js';
import { sameCheckSpecDir, sameCheckSpecNames } from './same-check.js';
import { loadSpec, type SpecSet } from './spec-load.js';
import type { YamlIssue } from './yaml-document.js';

/**
 * `vmspec spec lint`: schema validation (via loadSpec) plus the checks a
 * schema cannot express: unique ids, known probes, params valid for the
 * probe, expect paths the probe can produce, every clause label covered,
 * no check copied from a spec the spec already takes checks from
 * (`sameCheckAs`; the loader reports references that do not resolve).
 */
export function lintSpec(dir: string): { spec?: SpecSet; issues: YamlIssue[] } {
  const { spec, issues } = loadSpec(dir);
  if (!spec) return { issues };
  const out = [...issues];
  const at = (r: Requirement, message: string) => out.push({ ...r.source, message: `${r.id}: ${message}` });

  const seen = new Map<string, Requirement>();
  for (const r of spec.requirements) {
    const prev = seen.get(r.id);
    if (prev) at(r, `duplicate id (first defined at ${prev.source.file}:${prev.source.line})`);
    else seen.set(r.id, r);
  }

  const paramAjv = new Ajv({ allErrors: true, strict: false });
  for (const r of spec.requirements) {
    if (r.ref.spec !== spec.id) at(r, `ref.spec "${r.ref.spec}" is not this spec's id "${spec.id}"`);
    if (!spec.labels.includes(r.ref.label)) at(r, `label ${r.ref.label} is not in the spec index's labels (spec.yaml)`);
    for (const e of [...(r.needs ?? []), ...(r.when ?? []), ...(r.expect ?? [])]) checkRegexes(e, (m) => at(r, m));
    if (!r.probe) continue;
    const probe = findProbe(r.probe);
    if (!probe) {
      at(r, `unknown probe "${r.probe}" (see \`vmspec probe list\`)`);
      continue;
    }
    const validate = paramAjv.compile(probe.params);
    if (!validate(r.params)) {
      for (const e of validate.errors ?? []) at(r, `params${e.instancePath.replace(/\//g, '.')} ${e.message ?? 'is invalid'} for probe ${probe.name}`);
    }
    for (const e of r.needs ?? []) checkPaths(e, probe.facts, (m) => at(r, `needs: ${m}`), probe.name);
    for (const e of r.when ?? []) checkPaths(e, probe.facts, (m) => at(r, `when: ${m}`), probe.name);
    for (const e of r.expect ?? []) checkPaths(e, probe.facts, (m) => at(r, `expect: ${m}`), probe.name);
  }

  for (const name of sameCheckSpecNames(spec).filter((n) => n !== spec.id)) {
    const dir = sameCheckSpecDir(spec.dir, name);
    const other = dir ? loadSpec(dir).spec : undefined;
    if (!other) continue;
    const checks = new Map(other.requirements.filter((r) => r.probe && !r.sameCheckAs).map((r) => [checkKey(r), r.id]));
    for (const r of spec.requirements) {
      const same = r.probe && !r.sameCheckAs ? checks.get(checkKey(r)) : undefined;
      if (same) at(r, `writes out the check of ${name} ${same} (probe, params, when, expect): write \`sameCheckAs: { spec: ${name}, id: ${same} }\` instead, so the two cannot drift apart`);
    }
  }

  // A section file that failed to load has no requirements: coverage would only repeat that error.
  const cited = new Set(spec.requirements.map((r) => r.ref.label));
  const allSectionsLoaded = issues.length === 0;
  for (const label of allSectionsLoaded ? spec.labels : []) {
    if (!cited.has(label)) out.push({ file: `${spec.dir}/spec.yaml`, line: 1, column: 1, message: `clause ${label} is listed in labels but no requirement cites it` });
  }
  return { spec, issues: out };
}

/** A requirement's check as text, object keys sorted: equal keys, equal checks. */
function checkKey(r: Requirement): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sorted({ probe: r.probe, params: r.params, needs: r.needs ?? null, when: r.when ?? null, expect: r.expect }));
}

function checkRegexes(e: Expectation, report: (m: string) => void): void {
  if (e.matches !== undefined) {
    try {
      new RegExp(e.matches, 'u');
    } catch (err) {
      report(`"${e.fact}" matches: invalid regular expression: ${(err as Error).message}`);
    }
  }
  for (const inner of [...(e.every ?? []), ...(e.some ?? [])]) checkRegexes(inner, report);
}

/** Walk the probe's facts schema along a dotted path. */
export function schemaAt(schema: Schema, path: string): Schema | undefined {
  if (path === '.' || path === '') return schema;
  let cur: Schema | undefined = schema;
  for (const part of path.split('.')) {
    if (!cur) return undefined;
    const props = cur.properties as Record<string, Schema> | undefined;
    const items = cur.items as Schema | undefined;
    if (/^\d+$/.test(part) && items) cur = items;
    else if (props && part in props) cur = props[part];
    else if (cur.additionalProperties && typeof cur.additionalProperties === 'object') cur = cur.additionalProperties as Schema;
    else return undefined;
  }
  return cur;
}

function checkPaths(e: Expectation, facts: Schema, report: (m: string) => void, probe: string): void {
  const node = schemaAt(facts, e.fact);
  if (!node) {
    report(`fact "${e.fact}" is not produced by probe ${probe}`);
    return;
  }
  const op = operatorOf(e);
  if ((op === 'every' || op === 'some') && !node.items) {
    report(`"${e.fact}" is not a list, so "${op}" cannot apply`);
    return;
  }
  for (const inner of e.every ?? e.some ?? []) checkPaths(inner, node.items as Schema, report, probe);
}
