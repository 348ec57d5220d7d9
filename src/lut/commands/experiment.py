"""`lut experiment compare|ablations|finetune SCALE` and `lut experiment table RESULTS`: the small-scale studies."""

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from lut.commands.arguments import add_options, configured, given_values
from lut.config import PretrainConfig, option
from lut.errors import UsageError
from lut.experiments.scale import load_scale, scale_names
from lut.experiments.tables import check_results, plot_results, results_table, update_markdown
from lut.runtime.files import write_json

STUDIES = ("compare", "ablations", "finetune")


@dataclass
class StudySettings:
    """Where a study's runs and results go, and how many pre-trainings run at once."""

    root: str = option("", "folder of the runs; empty: runs/experiments/SCALE")
    jobs: int = option(0, "pre-trainings at once; 0: the scale's", minimum=0)
    results: str = option("", "results JSON; empty: ROOT/STUDY.json (a PNG goes next to it)")
    markdown: str = option("", "markdown file whose table block to (re)write")


@dataclass
class TableSettings:
    """Where `lut experiment table` writes its table."""

    markdown: str = option("", "markdown file whose table block to (re)write")


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `experiment` sub-command and its studies."""
    parser = subcommands.add_parser(
        "experiment",
        help="reproduce the paper's claims at small scale (LUT vs MAE, ablations, fine-tuning)",
        description="compare: LUT vs MAE over seeds, same epochs and same wall-clock, scored frozen; ablations: "
                    "Table 4a/4d/4e/4f (one seed); finetune: compare's students and random initialisations "
                    "fine-tuned end to end (the scale's `finetune` settings). Each pre-training runs as its own "
                    "`lut pretrain` process; finished runs are reused and unfinished ones resume, so the same "
                    "command continues an interrupted study.",
    )
    studies = parser.add_subparsers(dest="study", required=True)
    for study in STUDIES:
        sub = studies.add_parser(study, help=f"run the {study} study",
                                 description=f"Run the {study} study; pre-training settings apply to every run.")
        sub.add_argument("scale", help=f"bundled scale ({', '.join(scale_names())}) or a YAML path")
        add_options(sub, StudySettings, PretrainConfig)
        sub.set_defaults(handler=run_study)
    table = studies.add_parser("table", help="print the table of a results JSON, redraw its figure, and write the "
                                             "table into markdown if asked")
    table.add_argument("results", help="results JSON written by compare, ablations or finetune")
    add_options(table, TableSettings)
    table.set_defaults(handler=run_table)


def run_study(args: argparse.Namespace) -> int:
    """Train what is missing, score every encoder, write JSON + PNG (+ markdown) and print the table."""
    from lut.experiments.finetuning import finetune_study
    from lut.experiments.studies import ablations, compare

    settings = configured(args, StudySettings)
    scale = load_scale(args.scale, given_values(args, PretrainConfig, skip=(StudySettings,)))
    root = Path(settings.root or f"runs/experiments/{scale.name}").expanduser()
    study = {"compare": compare, "ablations": ablations, "finetune": finetune_study}[args.study]
    results = study(scale, root, settings.jobs or None)
    path = Path(settings.results).expanduser() if settings.results else root / f"{args.study}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(results, path)
    publish(results, path, settings.markdown or None)
    return 0


def run_table(args: argparse.Namespace) -> int:
    """Regenerate the table of existing results."""
    path = Path(args.results).expanduser()
    try:
        results = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"cannot read results {path}: {error}") from error
    check_results(results, path)
    publish(results, path, configured(args, TableSettings).markdown or None)
    return 0


def publish(results: dict, path: Path, markdown: str | None) -> None:
    """Draw the figure next to the results, print the table, write it into `markdown` under a key naming the file."""
    plot_results(results, path.with_suffix(".png"))
    table = results_table(results)
    print(table)
    print(f"results in {path}")
    if markdown:
        update_markdown(Path(markdown), f"{results['study']} {path.as_posix()}", table)
        print(f"table written to {markdown}")
