#!/usr/bin/env bash
# The large-Betti comparisons that are still to run (docs/study.md says why), as one resumable
# job for a machine with more cores or a GPU. Every command resumes where it stopped when the
# script is run again, on the same machine from its run folder, on another from the partial
# archive it left (docs/results/NAME.partial.json: commit it); finished comparisons are exported
# to docs/results/NAME.json and skipped from then on.
#
#   WORKERS=8 DEVICE=auto scripts/large_betti_runs.sh         # from the repository root
#
# Part 1 re-runs, unchanged, the width-50 comparisons whose run folders were lost with the
# development machines (speedups.png reads only their per-seed numbers, recovered into
# docs/results/recovered/; the linked-rings 5,000/8,000-epoch and nested-shells 5,000-epoch
# ones are archived in full already). Part 2 tunes the learning rate
# of the proposed activation and ReLU on the protocol's 8-point grid (3 tuning seeds) for each
# large-Betti set, importing the evaluation runs of part 1 wherever the tuned rate is 0.003
# (linked-rings' is archived since session 21, docs/results/linked-rings-w50-grid8.json, so it
# is skipped). On the 2-core development machine the rest is ~20-30 core-hours; CPU results
# and GPU results are not bit-identical (the device is recorded in each results.json).
set -euo pipefail

BETTISCOPE=${BETTISCOPE:-.venv/bin/bettiscope}
WORKERS=${WORKERS:-2}
DEVICE=${DEVICE:-cpu}
RUNS=${RUNS:-runs}
GRID=0.0001,0.0003,0.001,0.003,0.01,0.03,0.1,0.3
COMMON=(--max-dim 0 --width 50 --seeds 10 --first-seed 100 --max-epochs 5000
        --val-fraction 0 --trace-every 0 --workers "$WORKERS" --device "$DEVICE")
LINKED=(--dataset linked-rings --data-param points_per_ring=80)
NESTED=(--dataset nested-shells --data-param points_per_shell=80)
DISKS=(--dataset disks-grid)

# Run folders do not outlive a machine: a comparison stopped part-way (end of a session, a
# signal) leaves its finished runs in docs/results/NAME.partial.json (commit it), and the next
# run of this script, on any machine, copies them from there and trains only the rest.
CURRENT=""
export_partial() {
    if [[ -n "$CURRENT" && -f "$RUNS/$CURRENT/config.json" && ! -f "$RUNS/$CURRENT/results.json" ]]
    then
        "$BETTISCOPE" export-results "$RUNS/$CURRENT" --partial \
            --out "docs/results/$CURRENT.partial.json" || true
    fi
}
trap export_partial EXIT
trap 'exit 143' TERM INT

compare_and_export() {  # NAME, then compare's arguments
    local name=$1 archive="docs/results/$1.json" partial="docs/results/$1.partial.json"
    shift
    if [[ -f $archive ]]; then
        echo "$name: archived already ($archive), skipped"
        return
    fi
    local reuse=()
    [[ -f $partial ]] && reuse=(--reuse "$partial")
    CURRENT=$name
    "$BETTISCOPE" --quiet compare "$@" "${reuse[@]}" --out "$RUNS/$name"
    "$BETTISCOPE" export-results "$RUNS/$name" --out "$archive"
    rm -f "$partial"  # the whole comparison is in the archive now
    CURRENT=""
}

# Part 1: lost folders, re-run (each ~1-2 h on 2 cores)
compare_and_export nested-shells-shift-w50-5000 "${NESTED[@]}" --data-param shift=0.25 \
    "${COMMON[@]}" --activations proposed,relu --lr-grid 0.003
compare_and_export linked-rings-w50-proposed-uniform "${LINKED[@]}" "${COMMON[@]}" \
    --activations proposed --no-relu-baseline --bias-init uniform --lr-grid 0.003
compare_and_export linked-rings-w50-relu-uniform "${LINKED[@]}" "${COMMON[@]}" \
    --activations relu --bias-init uniform --lr-grid 0.003
compare_and_export disks-grid-w50-5000 "${DISKS[@]}" "${COMMON[@]}" \
    --activations proposed,relu --lr-grid 0.003

# Part 2: the protocol's 8-point grid (each ~8 core-hours on the development machine)
compare_and_export linked-rings-w50-grid8 "${LINKED[@]}" "${COMMON[@]}" \
    --activations proposed,relu --tuning-seeds 3 --lr-grid "$GRID" \
    --reuse docs/results/linked-rings-w50-5000.json
compare_and_export nested-shells-w50-grid8 "${NESTED[@]}" "${COMMON[@]}" \
    --activations proposed,relu --tuning-seeds 3 --lr-grid "$GRID" \
    --reuse docs/results/nested-shells-w50-5000.json
compare_and_export disks-grid-w50-grid8 "${DISKS[@]}" "${COMMON[@]}" \
    --activations proposed,relu --tuning-seeds 3 --lr-grid "$GRID" \
    --reuse docs/results/disks-grid-w50-5000.json
