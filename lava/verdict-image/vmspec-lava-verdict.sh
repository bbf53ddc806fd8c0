#!/bin/sh
# vmspec-lava-verdict: the verdict step of a `vmspec lava-job` job, run by
# LAVA's docker test shell in the verdict image, which ships it
# (scripts/lava-verdict-image.sh). Shipping it keeps the job's inline test
# definition to one line: LAVA stores the definition in the metadata of the
# step's `lava` result and keeps at most 4096 bytes of it (docs/scale.md).
#
# usage: vmspec-lava-verdict console LAVA_URL SPEC SLUG IDS
#          judge the evidence frame in this job's own log (LAVA_JOB_ID)
#        vmspec-lava-verdict bundle BUNDLE_URL RESULTS_URL SPEC SLUG IDS
#          judge the bundle the guest uploaded; PUT the results beside it
#          (GET and PUT with vmspec-lava-http.cjs beside this script: the
#          image needs node, not curl)
# SPEC: built-in spec name. SLUG: the job's cell (names the evidence file,
# so merged reports label the column by it). IDS: the selected requirement
# ids, comma-separated, in spec order.
#
# One LAVA test case per requirement, named as lava/names.ts names it.
# vmspec's statuses map to LAVA's: pass, fail; skip, manual and waived ->
# skip (none is a pass); undecided (applies, input missing or unreadable),
# error, or no result at all (evidence missing, vmspec failed) -> unknown:
# LAVA's word for a case whose outcome could not be determined.
# Exit 0 once reported; 2 on a usage error (nothing reported).

usage() {
  echo "usage: vmspec-lava-verdict console LAVA_URL SPEC SLUG IDS | bundle BUNDLE_URL RESULTS_URL SPEC SLUG IDS" >&2
  exit 2
}

mode=${1:-}
case $mode in
  console) [ $# -eq 5 ] || usage; lava_url=$2; spec=$3; slug=$4; only=$5 ;;
  bundle) [ $# -eq 6 ] || usage; bundle_url=$2; results_url=$3; spec=$4; slug=$5; only=$6 ;;
  *) usage ;;
esac
case $slug in '' | *[!a-z0-9-]*) echo "vmspec-lava-verdict: SLUG must be a-z, 0-9 and hyphens" >&2; exit 2 ;; esac
case $only in '' | *[!A-Za-z0-9._,-]*) echo "vmspec-lava-verdict: IDS must be requirement ids separated by commas" >&2; exit 2 ;; esac

here=$(dirname "$(readlink -f "$0")")

result() {
  lava-test-case "$@" || echo "vmspec: lava-test-case $1 could not be reported"
}

# The LAVA test case name of a requirement id (lava/names.ts testCaseName):
# lower case, every run of other characters one hyphen, none at either end.
case_name() {
  printf '%s\n' "$1" | LC_ALL=C tr '[:upper:]' '[:lower:]' | sed -e 's/[^a-z0-9][^a-z0-9]*/-/g' -e 's/^-//' -e 's/-$//'
}

work=$(mktemp -d 2>/dev/null) || work=/tmp/vmspec-verdicts
mkdir -p "$work"
# The fetched evidence and the results are uploaded or reported by the end:
# nothing is left behind, also when the step is interrupted.
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
results=$work/$slug.json
statuses=$work/statuses
: >"$statuses"

if [ "$mode" = console ]; then
  evidence=$work/$slug.log
  if [ -n "${LAVA_JOB_ID:-}" ] && node "$here/vmspec-lava-job-log.cjs" "$lava_url" "$LAVA_JOB_ID" "$evidence"; then
    result vmspec-fetch-log --result pass
  else
    echo "vmspec: no evidence frame in the log of job ${LAVA_JOB_ID:-?} at $lava_url"
    result vmspec-fetch-log --result fail
  fi
else
  evidence=$work/$slug.tar
  if node "$here/vmspec-lava-http.cjs" get "$bundle_url" "$evidence"; then
    result vmspec-fetch-bundle --result pass
  else
    echo "vmspec: could not fetch the bundle from $bundle_url (did the guest upload it?)"
    result vmspec-fetch-bundle --result fail
  fi
fi

rc=none
if [ -s "$evidence" ]; then
  rc=0
  vmspec verify --evidence "$evidence" --spec "$spec" --only "$only" --format json -o "$results" || rc=$?
fi
# 0 all mandatory clauses passed, 1 one failed, 3 a probe could not run,
# 4 a mandatory clause is undecided: each still wrote a complete results
# file. 2 is a usage or input error.
case $rc in
  0 | 1 | 3 | 4)
    result vmspec-verify --result pass --measurement "$rc" --units exit-code
    node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); for (const x of r.results) console.log(x.id + " " + x.status);' "$results" >"$statuses" || : >"$statuses"
    ;;
  *)
    echo "vmspec: vmspec verify gave no results (exit $rc)"
    result vmspec-verify --result fail
    ;;
esac

ids=$(printf '%s\n' "$only" | tr ',' ' ')
for id in $ids; do
  status=$(awk -v id="$id" '$1 == id { print $2; exit }' "$statuses")
  case $status in
    pass) verdict=pass ;;
    fail) verdict=fail ;;
    skip | manual | waived) verdict=skip ;;
    *) verdict=unknown ;; # undecided, error, or no result
  esac
  result "$(case_name "$id")" --result "$verdict"
done

if [ "$mode" = bundle ] && [ -s "$results" ]; then
  if node "$here/vmspec-lava-http.cjs" put "$results" "$results_url"; then
    result vmspec-upload-results --result pass
    lava-test-reference vmspec-results --result pass --reference "$results_url" || echo "vmspec: lava-test-reference failed"
  else
    echo "vmspec: upload of the results to $results_url failed"
    result vmspec-upload-results --result fail
  fi
fi
exit 0
