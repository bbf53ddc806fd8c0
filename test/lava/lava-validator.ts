import { spawnSync } from 'node:child_process';

/**
 * LAVA's own job validator (Debian package lava-common), run by the SYSTEM
 * python3: the job schema (strict, as the LAVA server checks submissions)
 * plus each inline test definition's own schema. PyYAML reads the files,
 * as the server does, so YAML 1.1 surprises (on/off as booleans) show.
 */
export const SYSTEM_PYTHON = '/usr/bin/python3';

const SCRIPT = `
import json, sys, yaml
from voluptuous import Invalid
from lava_common.schemas import validate
from lava_common.schemas.test.testdef import validate as validate_testdef
out = []
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
        validate(data, strict=True)
        for action in data["actions"]:
            for d in action.get("test", {}).get("definitions", []):
                if d.get("from") == "inline":
                    validate_testdef(d["repository"])
        out.append({"path": path, "ok": True})
    except (Invalid, yaml.YAMLError, KeyError, TypeError) as e:
        out.append({"path": path, "ok": False, "error": "%s: %s" % (type(e).__name__, e)})
print(json.dumps(out))
`;

export interface LavaVerdict {
  path: string;
  ok: boolean;
  error?: string;
}

export function lavaValidate(paths: string[]): LavaVerdict[] {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', SCRIPT, ...paths], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`LAVA validator did not run (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as LavaVerdict[];
}

/** Is lava-common importable by the system python? */
export function lavaCommonMissing(): string | false {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import lava_common.schemas'], { encoding: 'utf8' });
  return r.status === 0 ? false : `lava-common is not installed for ${SYSTEM_PYTHON} (apt-get install lava-common)`;
}
