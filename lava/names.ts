/**
 * Names that end up in LAVA: test case names (the LAVA server keeps them in
 * URLs and a 100-character column), and the per-job slug used for file
 * names, job names and report columns. Both are lower-case a-z, 0-9 and
 * single hyphens, so they are safe in a URL, a file name and a shell word.
 */
export const TEST_CASE_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const MAX_TEST_CASE_NAME = 100;

/** Lower-case, every run of other characters becomes one hyphen, no hyphen at either end. */
export function slugify(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/** The LAVA test case name for a requirement id (V2-FW-UEFI-2-6 -> v2-fw-uefi-2-6). */
export function testCaseName(requirementId: string): string {
  const name = slugify(requirementId);
  if (!TEST_CASE_NAME.test(name) || name.length > MAX_TEST_CASE_NAME) {
    throw new Error(`requirement id "${requirementId}" gives no usable LAVA test case name ("${name}"); ids need letters or digits and at most ${MAX_TEST_CASE_NAME} characters`);
  }
  return name;
}

/** Test case names reported by the job itself, outside the per-requirement ones. */
export const STEP_CASES = {
  collect: 'vmspec-collect',
  evidenceDisk: 'vmspec-evidence-disk',
  upload: 'vmspec-upload-bundle',
  fetch: 'vmspec-fetch-bundle',
  /** Console jobs: the verdict step read the frame from the job's own log. */
  fetchLog: 'vmspec-fetch-log',
  verify: 'vmspec-verify',
  uploadResults: 'vmspec-upload-results',
  /** lava-test-reference names: they are test cases too. */
  bundleReference: 'vmspec-evidence-bundle',
  resultsReference: 'vmspec-results',
} as const;

/**
 * Map requirement ids to test case names, refusing two ids that collapse to
 * one name (V2-A.B and V2-A-B) or a name a job step already uses: LAVA would
 * silently keep both results under one name.
 */
export function testCaseNames(requirementIds: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Map<string, string>(Object.values(STEP_CASES).map((n) => [n, `the job step "${n}"`]));
  for (const id of requirementIds) {
    const name = testCaseName(id);
    const other = taken.get(name);
    if (other) throw new Error(`requirement ${id} and ${other} would share the LAVA test case name "${name}"; rename one of them`);
    taken.set(name, `requirement ${id}`);
    out.set(id, name);
  }
  return out;
}
