"""Markdown tables and a figure made from a study's JSON results."""

import re
import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lut.errors import UsageError  # noqa: E402
from lut.evaluation.spread import mean_std  # noqa: E402
from lut.wording import counted

METRICS = (("knn_top1", "k-NN top-1"), ("probe_top1", "linear probe top-1"))
FINETUNE_METRICS = (("top1", "fine-tuned top-1, last epoch"), ("best_top1", "fine-tuned top-1, best epoch"))
RESULT_KEYS = {
    "compare": ("description", "environment", "evaluation", "rows", "seeds", "time_ratio", "same_time_epochs"),
    "ablations": ("description", "environment", "evaluation", "rows", "seeds"),
    "finetune": ("description", "environment", "rows", "seeds", "finetune_recipe", "finetune"),
}
"""Keys of each study's results that its table and figure read; `NESTED_KEYS` and `ROW_KEYS` go one level down."""
NESTED_KEYS = {
    "environment": ("device", "torch", "date"),
    "evaluation": ("k",),
    "finetune": ("epochs", "train_samples"),
}
ROW_KEYS = {
    "compare": ("encoder", "runs"),
    "ablations": ("table", "title", "method", "key", "value", "default", "runs"),
    "finetune": ("encoder", "runs"),
}


def _missing(value: Any, keys: tuple[str, ...], prefix: str) -> list[str]:
    """The `keys` that `value` lacks (all of them when it is not a dict), each named `prefix + key`."""
    return [prefix + key for key in keys if not isinstance(value, dict) or key not in value]


def check_results(results: Any, path: Path) -> None:
    """Refuse what is not a study's results, or lacks a key that its table or figure reads.

    Raises:
        UsageError: naming `path` and the missing keys.
    """
    if not isinstance(results, dict) or "study" not in results:
        raise UsageError(f"{path} is not a results file of `lut experiment`")
    study = results["study"]
    if not isinstance(study, str) or study not in RESULT_KEYS:
        raise UsageError(f"{path} holds results of an unknown study {study!r} (known: {', '.join(RESULT_KEYS)})")
    missing = _missing(results, RESULT_KEYS[study], "")
    for part, keys in NESTED_KEYS.items():
        if part in RESULT_KEYS[study] and part not in missing:
            missing += _missing(results[part], keys, f"{part}.")
    rows = results.get("rows", [])
    if not isinstance(rows, list):
        missing.append("rows (not a list)")
    else:
        for index, row in enumerate(rows):
            missing += _missing(row, ROW_KEYS[study], f"rows[{index}].")
    if missing:
        raise UsageError(f"{path} is not a complete {study} results file; missing or malformed: {', '.join(missing)}")


def mean_std_cell(values: list[float]) -> str:
    """"81.23 ± 0.45" over seeds (sample standard deviation), the single value, or "" (none: top-5 of 5 classes or
    fewer is not reported)."""
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return "{:.2f} ± {:.2f}".format(*mean_std(values, sample=True))


def _column(runs: list[dict], key: str) -> list[float]:
    return [run[key] for run in runs if run.get(key) is not None]


def _seconds(runs: list[dict]) -> str:
    seconds = _column(runs, "train_seconds")
    return f"{statistics.fmean(seconds):.0f}" if seconds else ""


def compare_table(results: dict[str, Any]) -> str:
    """One row per encoder: budget, epochs, mean training time, k-NN and probe accuracy (mean ± std)."""
    k = results["evaluation"]["k"]
    lines = [
        f"| encoder | budget | epochs | training time (s) | k-NN top-1 (k={k}) | linear probe top-1 | seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        runs = row["runs"]
        epochs = ", ".join(sorted({str(run["epochs"]) for run in runs if "epochs" in run}))
        cells = [row["encoder"], row.get("budget", ""), epochs, _seconds(runs),
                 *(mean_std_cell(_column(runs, key)) for key, _ in METRICS), str(len(runs))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def finetune_table(results: dict[str, Any]) -> str:
    """One row per encoder: budget, pre-training epochs, fine-tuned top-1 at the last and the best epoch."""
    lines = [
        "| encoder | budget | pre-training epochs | fine-tuned top-1 (last epoch) | fine-tuned top-1 (best epoch) "
        "| top-5 | seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        runs = row["runs"]
        epochs = ", ".join(sorted({str(run["pretrain_epochs"]) for run in runs}))
        cells = [row["encoder"], row.get("budget", ""), epochs,
                 *(mean_std_cell(_column(runs, key)) for key in ("top1", "best_top1", "top5")), str(len(runs))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ablation_table(results: dict[str, Any]) -> str:
    """One block of rows per paper table, the default setting in bold."""
    lines = [
        f"| table | varies | method | setting | k-NN top-1 (k={results['evaluation']['k']}) | linear probe top-1 "
        "| training time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        (run,) = row["runs"]
        setting = f"{row['key']}={row['value']}"
        if row["default"]:
            setting = f"**{setting}** (default)"
        lines.append(f"| {row['table']} | {row['title']} | {row['method'].upper()} | {setting} | "
                     f"{run['knn_top1']:.2f} | {run['probe_top1']:.2f} | {_seconds([run])} |")
    return "\n".join(lines)


def results_table(results: dict[str, Any]) -> str:
    """The markdown table of a study's results, with a line saying what made them."""
    environment = results["environment"]
    made = f"{results['description']}; {environment['device']}, torch {environment['torch']}, {environment['date']}"
    if results["study"] == "compare":
        table = compare_table(results)
        seeds = results["seeds"]
        several = len(seeds) > 1
        made += f"; seeds {', '.join(map(str, seeds))}" if several else f"; one seed ({seeds[0]})"
        made += (f"; LUT/MAE training-time ratio {results['time_ratio']:.2f}{' (fastest seeds)' if several else ''}"
                 f" -> same wall-clock MAE {counted(results['same_time_epochs'], 'epoch')}")
    elif results["study"] == "ablations":
        table = ablation_table(results)
        made += f"; one seed ({results['seeds'][0]})"
    elif results["study"] == "finetune":
        table = finetune_table(results)
        settings = results["finetune"]
        seeds = results["seeds"]
        made += f"; seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else f"; one seed ({seeds[0]})"
        made += (f"; fine-tuning recipe {results['finetune_recipe']}, {counted(settings['epochs'], 'epoch')} on "
                 f"{settings['train_samples'] or 'all'} training images")
    else:
        raise UsageError(f"unknown study {results['study']!r} in the results")
    return f"{table}\n\n_{made}._"


def update_markdown(path: Path, key: str, text: str) -> None:
    """Put `text` between `<!-- BEGIN key -->` and `<!-- END key -->` of `path` (appended when absent)."""
    begin, end = f"<!-- BEGIN {key} -->", f"<!-- END {key} -->"
    document = path.read_text() if path.is_file() else ""
    block = f"{begin}\n{text}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(document):
        document = pattern.sub(lambda _: block, document)
    else:
        document = document.rstrip("\n") + ("\n\n" if document else "") + block + "\n"
    path.write_text(document)


def plot_results(results: dict[str, Any], path: Path) -> None:
    """Bar chart of both metrics per row, error bars = standard deviation over seeds."""
    metrics = FINETUNE_METRICS if results["study"] == "finetune" else METRICS
    if results["study"] in ("compare", "finetune"):
        labels = [f"{row['encoder']}\n{row.get('budget', '')}".strip() for row in results["rows"]]
    else:
        labels = [f"{row['table']} {row['method'].upper()}\n{row['key']}={row['value']}" for row in results["rows"]]
    figure, axes = plt.subplots(1, 2, figsize=(max(8, 0.9 * len(labels) + 4), 4.5), sharey=False)
    for axis, (key, title) in zip(axes, metrics):
        values = [_column(row["runs"], key) for row in results["rows"]]
        means, errors = zip(*(mean_std(v, sample=True) for v in values))
        axis.barh(range(len(labels)), means, xerr=errors, color="tab:blue", alpha=0.8, capsize=3)
        axis.set_yticks(range(len(labels)), labels, fontsize=7)
        axis.invert_yaxis()
        low = min(m - e for m, e in zip(means, errors))
        axis.set_xlim(max(0.0, low - 5), min(100.0, max(m + e for m, e in zip(means, errors)) + 2))
        axis.set_xlabel(f"{title} (%)")
        for index, (mean, error) in enumerate(zip(means, errors)):
            axis.text(mean + error, index, f"  {mean:.1f}", va="center", fontsize=7)
    figure.suptitle(results["description"], fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
