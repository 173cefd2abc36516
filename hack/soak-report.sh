#!/usr/bin/env bash
# Summarise a soak log (hack/soak.sh) per soaked HEAD: runs passed / run, failed runs,
# shortest and longest run, and every seed, as Markdown for the README.
#
#   hack/soak-report.sh                       # target/soak/soak.log
#   hack/soak-report.sh path/to/soak.log
#   hack/soak-report.sh a/soak.log b/soak.log # soaks that ran side by side (CIC_SOAK_DIR),
#                                             # counted together per soaked HEAD
#   hack/soak-report.sh --seeds-only HEAD     # just the seeds of one HEAD, one line
#
# Interrupted runs (Ctrl-C, a stopped soak) are not counted either way.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SEEDS_ONLY=""
if [[ "${1:-}" == --seeds-only ]]; then
  SEEDS_ONLY="${2:?--seeds-only HEAD}"
  shift 2
fi
LOGS=("$@")
(( ${#LOGS[@]} > 0 )) || LOGS=("${CIC_SOAK_DIR:-${ROOT}/target/soak}/soak.log")
for log in "${LOGS[@]}"; do
  [[ -r "${log}" ]] || { echo "soak-report: no soak log at ${log}" >&2; exit 2; }
done

# One line per counted run: HEAD seed outcome seconds
runs() {
  awk '
    FNR == 1 { head = "" }
    /soak start:/ {
      head = ""
      for (i = 1; i <= NF; i++) if ($i == "HEAD") { head = $(i + 1); sub(/,$/, "", head) }
    }
    / run [0-9]+ seed [0-9]+ campaign / && head != "" {
      seed = ""; outcome = ""; secs = ""
      for (i = 1; i <= NF; i++) {
        if ($i == "seed") seed = $(i + 1)
        if ($i == "campaign") { outcome = $(i + 2); secs = $(i + 3) }
      }
      if (outcome == "ok" || outcome == "FAILED") { sub(/s$/, "", secs); print head, seed, outcome, secs }
    }
  ' "${LOGS[@]}"
}

if [[ -n "${SEEDS_ONLY}" ]]; then
  runs | awk -v h="${SEEDS_ONLY}" '$1 == h { printf "%s%s", sep, $2; sep = " " } END { print "" }'
  exit 0
fi

echo "| soaked HEAD | passed / runs | failed | run time |"
echo "|---|---|---|---|"
runs | awk '
  !($1 in n) { order[++k] = $1; min[$1] = $4; max[$1] = $4 }
  { n[$1]++; if ($3 == "ok") ok[$1]++; else bad[$1]++
    if ($4 + 0 < min[$1] + 0) min[$1] = $4; if ($4 + 0 > max[$1] + 0) max[$1] = $4 }
  END {
    for (i = 1; i <= k; i++) {
      h = order[i]; total += n[h]; okt += ok[h] + 0
      printf "| `%s` | %d / %d | %d | %s–%s s |\n", h, ok[h] + 0, n[h], bad[h] + 0, min[h], max[h]
    }
    printf "| **all** | **%d / %d** | %d | |\n", okt, total, total - okt
  }'
echo
echo "Seeds (replay one with \`CIC_CAMPAIGN_SEED=<seed> cargo test --test reliability_crash\` and \`--test reliability_faults\`):"
echo
for h in $(runs | awk '!seen[$1]++ { print $1 }'); do
  echo "- \`${h}\`: $(runs | awk -v h="${h}" '$1 == h { printf "%s%s", sep, $2; sep = " " }')"
done
