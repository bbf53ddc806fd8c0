#!/bin/bash
# Submit the jobs `vmspec lava-job --output JOBS` wrote to a LAVA lab, one at
# a time, wait for each, and fetch what LAVA kept: the test cases
# (CELL.lava.yaml, `lavacli results`), the job log, and from the log's
# console (target) lines the evidence frame (CELL.log). vmspec judges each
# frame (`vmspec verify --evidence CELL.log` -> CELL.json) on this host, so
# the lab needs nothing beyond stock LAVA. Then:
#   vmspec report merge OUT/*.json
#
# usage: scripts/lava-results.sh JOBS_DIR OUT_DIR [JOB_ID...]
#   with JOB_IDs (in index.json order): fetch those finished jobs instead of submitting.
# Environment: VMSPEC_LAB_IDENTITY (lavacli identity, default vmspec-lab),
#   VMSPEC (the vmspec command, default bin/vmspec.js beside this script).
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 JOBS_DIR OUT_DIR [JOB_ID...]" >&2; exit 2; }
JOBS=$1 OUT=$2; shift 2
IDENTITY=${VMSPEC_LAB_IDENTITY:-vmspec-lab}
HERE=$(cd "$(dirname "$0")/.." && pwd)
VMSPEC=${VMSPEC:-node $HERE/bin/vmspec.js}
PY=/usr/bin/python3
lava() { lavacli -i "$IDENTITY" "$@"; }

[ -s "$JOBS/index.json" ] || { echo "$0: $JOBS/index.json not found: write the jobs with vmspec lava-job --output $JOBS" >&2; exit 2; }
mkdir -p "$OUT"
mapfile -t CELLS < <($PY -c 'import json,sys; [print(j["slug"]) for j in json.load(open(sys.argv[1]))["jobs"]]' "$JOBS/index.json")
ids=("$@")
# Judge what the jobs were generated for: the same spec and requirements.
SPEC=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["spec"]["name"])' "$JOBS/index.json")
ONLY=$($PY -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["requirements"]))' "$JOBS/index.json")

rc=0
for i in "${!CELLS[@]}"; do
  cell=${CELLS[$i]}
  if [ ${#ids[@]} -gt 0 ]; then id=${ids[$i]:?"no job id for $cell"}
  else
    id=$(lava jobs submit "$JOBS/$cell.yaml")
    echo "$cell: job $id submitted" >&2
  fi
  echo "$id" >"$OUT/$cell.job"
  lava jobs wait --polling 10 "$id" >/dev/null
  health=$(lava jobs show "$id" | awk -F': ' '$1 ~ /^Health/ {print $2}')
  echo "$cell: job $id $health" >&2
  lava results --yaml "$id" >"$OUT/$cell.lava.yaml"
  lava jobs logs --raw "$id" >"$OUT/$cell.job-log.yaml"
  # The console is the log's "target" lines, exactly as the guest printed them.
  $PY - "$OUT/$cell.job-log.yaml" "$OUT/$cell.log" <<'EOF'
import sys, yaml
log = yaml.load(open(sys.argv[1]), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or []
with open(sys.argv[2], "w") as out:
    for e in log:
        if isinstance(e, dict) and e.get("lvl") == "target" and isinstance(e.get("msg"), str):
            out.write(e["msg"] + "\n")
EOF
  set +e
  $VMSPEC verify --evidence "$OUT/$cell.log" --spec "$SPEC" --only "$ONLY" --format json -o "$OUT/$cell.json"
  v=$?
  set -e
  # verify exits 1 when a clause fails: that is a verdict, not an error.
  [ $v -le 1 ] || { echo "$cell: vmspec verify exited $v" >&2; rc=1; }
  [ "$health" = Complete ] || rc=1
done
exit $rc
