#!/usr/bin/env bash
# Demo recipe variants side by side: each `lut pretrain demo OVERRIDES` on its own cores, at once.
#
#   bash benchmarks/demo_recipe_sweep.sh CORES_PER_RUN "OVERRIDES A" "OVERRIDES B" ...
#
# Run I is pinned to cores FIRST_CORE + [I*CORES_PER_RUN, (I+1)*CORES_PER_RUN) (FIRST_CORE defaults to 0) with as
# many threads, where taskset exists; its output folder is
# $OUT/sweep/run-I (./sweep/run-I when OUT is unset), its log beside it. The k-NN rise of each run is printed as a
# markdown table at the end (student at step 0 -> end, teacher, wall-clock). Needs Fashion-MNIST
# (LUT_FASHION_MNIST_DIR or the Debian package) and a machine with that many cores.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
PYTHON=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 TQDM_MININTERVAL=30
cores=$1
shift
folder="${OUT:-.}/sweep"
mkdir -p "$folder"

# run_one RUN CORES OVERRIDES: one pre-training, its wall-clock seconds written to RUN.seconds when it ends.
run_one() {
    local run=$1 pinned=$2 started=$SECONDS
    shift 2
    local pin=()
    command -v taskset > /dev/null && pin=(taskset -c "$pinned")
    OMP_NUM_THREADS=$cores "${pin[@]}" "$PYTHON" -m lut.cli pretrain demo "$@" output_dir="$run" num_visualize=0 \
        > "$run.log" 2>&1
    echo "$((SECONDS - started))" > "$run.seconds"
}

index=0
for overrides in "$@"; do
    first=$((${FIRST_CORE:-0} + index * cores))
    echo "run-$index: cores $first-$((first + cores - 1)): lut pretrain demo $overrides"
    # shellcheck disable=SC2086  # the overrides are words
    run_one "$folder/run-$index" "$first-$((first + cores - 1))" $overrides &
    index=$((index + 1))
done
wait

"$PYTHON" - "$folder" "$@" <<'EOF'
import json
import sys
from pathlib import Path

folder, variants = Path(sys.argv[1]), sys.argv[2:]
print("| run | overrides | steps | k-NN step 0 | k-NN end | rise | teacher | precision | wall-clock s |")
print("|---|---|---|---|---|---|---|---|---|")
for index, overrides in enumerate(variants):
    run = folder / f"run-{index}"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()] \
        if (run / "metrics.jsonl").is_file() else []
    knn = [r for r in records if "knn_top1" in r]
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").is_file() else {}
    config = (run / "config.yaml").read_text() if (run / "config.yaml").is_file() else ""
    precision = next((line.split(":")[1].strip() for line in config.splitlines() if line.startswith("precision:")), "")
    seconds_file = folder / f"run-{index}.seconds"
    seconds = seconds_file.read_text().strip().splitlines()[-1] if seconds_file.is_file() else "unfinished"
    start, end = (knn[0]["knn_top1"], knn[-1]["knn_top1"]) if knn else (float("nan"), float("nan"))
    teacher = summary.get("knn", {}).get("teacher", float("nan"))
    steps = knn[-1]["step"] if knn else 0
    print(f"| {index} | `{overrides}` | {steps} | {start:.2f} | {end:.2f} | {end - start:+.2f} | {teacher:.2f} | "
          f"{precision} | {seconds} |")
EOF
