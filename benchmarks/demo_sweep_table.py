"""The k-NN rise of each run of `demo_recipe_sweep.sh`, as a markdown table (unfinished runs: their last k-NN).

    python benchmarks/demo_sweep_table.py SWEEP_FOLDER "OVERRIDES A" "OVERRIDES B" ...
"""

import json
import sys
from pathlib import Path

HEADER = ("| run | overrides | steps | k-NN step 0 | k-NN last | rise | teacher | precision | wall-clock s |\n"
          "|---|---|---|---|---|---|---|---|---|")


def sweep_row(run: Path, index: int, overrides: str) -> str:
    """One table row: the run's first and last k-NN, its teacher, the precision that ran and its seconds."""
    metrics = run / "metrics.jsonl"
    records = [json.loads(line) for line in metrics.read_text().splitlines()] if metrics.is_file() else []
    knn = [record for record in records if "knn_top1" in record]
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").is_file() else {}
    config = (run / "config.yaml").read_text().splitlines() if (run / "config.yaml").is_file() else []
    precision = next((line.split(":")[1].strip() for line in config if line.startswith("precision:")), "")
    seconds_file = run.with_name(run.name + ".seconds")
    seconds = seconds_file.read_text().strip() if seconds_file.is_file() else "unfinished"
    first, last = (knn[0]["knn_top1"], knn[-1]["knn_top1"]) if knn else (float("nan"), float("nan"))
    teacher = summary.get("knn", {}).get("teacher", float("nan"))
    steps = knn[-1]["step"] if knn else 0
    return (f"| {index} | `{overrides}` | {steps} | {first:.2f} | {last:.2f} | {last - first:+.2f} | {teacher:.2f} | "
            f"{precision} | {seconds} |")


def main() -> None:
    folder, variants = Path(sys.argv[1]), sys.argv[2:]
    print(HEADER)
    for index, overrides in enumerate(variants):
        print(sweep_row(folder / f"run-{index}", index, overrides))


if __name__ == "__main__":
    main()
