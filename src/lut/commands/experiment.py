"""`lut experiment compare|ablations|finetune SCALE` and `lut experiment table RESULTS`: the small-scale studies."""

import argparse
import json
from pathlib import Path

from lut.config import parse_overrides
from lut.errors import UsageError
from lut.experiments.scale import load_scale, scale_names
from lut.experiments.tables import check_results, plot_results, results_table, update_markdown
from lut.runtime.files import write_json

STUDIES = ("compare", "ablations", "finetune")


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
        sub = studies.add_parser(study, help=f"run the {study} study")
        sub.add_argument("scale", help=f"bundled scale ({', '.join(scale_names())}) or a YAML path")
        sub.add_argument("settings", nargs="*", default=[], metavar="key=value",
                         help="pre-training overrides for every run (optional)")
        sub.add_argument("--root", default=None, help="folder of the runs (default: runs/experiments/SCALE)")
        sub.add_argument("--jobs", type=int, default=None, help="pre-trainings at once (default: the scale's)")
        sub.add_argument("--results", default=None, help="results JSON (default: ROOT/STUDY.json); a PNG goes next "
                                                         "to it")
        sub.add_argument("--markdown", default=None, help="markdown file whose table block to (re)write")
        sub.set_defaults(handler=run_study)
    table = studies.add_parser("table", help="print the table of a results JSON, redraw its figure, and write the "
                                             "table into markdown if asked")
    table.add_argument("results", help="results JSON written by compare, ablations or finetune")
    table.add_argument("--markdown", default=None, help="markdown file whose table block to (re)write")
    table.set_defaults(handler=run_table)


def run_study(args: argparse.Namespace) -> int:
    """Train what is missing, score every encoder, write JSON + PNG (+ markdown) and print the table."""
    from lut.experiments.finetuning import finetune_study
    from lut.experiments.studies import ablations, compare

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    scale = load_scale(args.scale, parse_overrides(args.settings))
    root = Path(args.root or f"runs/experiments/{scale.name}").expanduser()
    study = {"compare": compare, "ablations": ablations, "finetune": finetune_study}[args.study]
    results = study(scale, root, args.jobs)
    path = Path(args.results).expanduser() if args.results else root / f"{args.study}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(results, path)
    publish(results, path, args.markdown)
    return 0


def run_table(args: argparse.Namespace) -> int:
    """Regenerate the table of existing results."""
    path = Path(args.results).expanduser()
    try:
        results = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"cannot read results {path}: {error}") from error
    check_results(results, path)
    publish(results, path, args.markdown)
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
