"""`lut pretrain [RECIPE] [key=value ...]`."""

import argparse
import logging
import shlex
from pathlib import Path
from typing import Any

from lut.commands.arguments import add_options, given_values, setting_text
from lut.config import PRETRAIN_RECIPES, PretrainConfig, default_recipe, pretrain_config
from lut.runtime.run_log import METRICS_FILE, read_metrics
from lut.wording import counted


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `pretrain` sub-command."""
    parser = subcommands.add_parser(
        "pretrain",
        help="pre-train a ViT with LUT or MAE",
        description="Pre-train with a recipe (bundled name or YAML path) and settings. With no recipe named: "
                    "`default` (for your own images) when data= is given, else `demo` (Fashion-MNIST). Settings: "
                    "built-in defaults <- the recipe's <- the command line's.",
    )
    parser.add_argument("positional_recipe", nargs="?", default=argparse.SUPPRESS, metavar="RECIPE",
                        help="the recipe, as --recipe (which wins when both are given)")
    add_options(parser, PretrainConfig, recipes=PRETRAIN_RECIPES, default_recipe="demo, or default with data=")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the config, train, and print where the outputs are."""
    from lut.training.pretrain import pretrain

    values = given_values(args, PretrainConfig)
    recipe = getattr(args, "recipe", getattr(args, "positional_recipe", None))
    if recipe is None:
        recipe = default_recipe(values)
        why = "data= names your images" if recipe == "default" else "no data= given: the built-in Fashion-MNIST demo"
        logging.getLogger("lut").info("recipe %s: none named and %s (`lut pretrain RECIPE ...` chooses another)",
                                      recipe, why)
    config = pretrain_config(recipe, values)
    summary = pretrain(config)
    if summary["rank"] != 0:
        return 0
    print(f"done: {counted(summary['steps'], 'step')}; outputs in {summary['output_dir']}")
    for key in ("checkpoint", "loss_curve", "reconstructions"):
        if key in summary:
            print(f"  {key:<16} {summary[key]}")
    if "knn" in summary:
        overrides = [setting_text(key, value) for key, value in values.items()]
        print("\n".join(closing_notes(summary, config, recipe, overrides)))
    return 0


def knn_rise(summary: dict[str, Any]) -> str:
    """One line: the student's k-NN at the first monitored step -> at the end, teacher and raw pixels."""
    knn = summary["knn"]
    monitored = [r for r in read_metrics(Path(summary["output_dir"]) / METRICS_FILE) if "knn_top1" in r]
    student = f"student {knn['student']:.2f}%"
    if monitored and monitored[0]["step"] < summary["steps"]:
        first = monitored[0]
        student = (f"student {first['knn_top1']:.2f}% at step {first['step']} -> {knn['student']:.2f}% at step "
                   f"{summary['steps']} ({knn['student'] - first['knn_top1']:+.2f} points)")
    others = "".join(f"; {name.replace('_', ' ')} {knn[name]:.2f}%"
                     for name in ("teacher", "raw_pixels") if name in knn)
    return (f"k-NN top-1 (k={knn['k']}, {knn['test_samples']} test images, {knn['train_samples']} as memory): "
            f"{student}{others}")


def teacher_lag(teacher: dict[str, float]) -> str:
    """One line on why the teacher's k-NN trails the student's: which steps of the run its EMA weights come from."""
    return (f"the teacher is the EMA of the student's weights (momentum {teacher['momentum']:g} rising to 1 over "
            f"{counted(teacher['schedule_steps'], 'step')}): an average centred on step "
            f"{teacher['average_step']:.0f}, with "
            f"{100 * teacher['initial_share']:.0f}% still the step-0 weights; compare it with the student's k-NN "
            "near that step")


def closing_notes(summary: dict[str, Any], config: PretrainConfig, recipe: str, overrides: list[str]) -> list[str]:
    """What to look at after a run with k-NN numbers: the k-NN rise, the figures, and the next commands."""
    lines = [knn_rise(summary)]
    if "teacher" in summary["knn"] and "teacher" in summary:
        lines.append(teacher_lag(summary["teacher"]))
    figures = [f"{summary['loss_curve']} (losses, learning rate, k-NN curve)"] if "loss_curve" in summary else []
    if "reconstructions" in summary:
        figures.append(f"{summary['reconstructions']} (masked input, reconstruction, original)")
    if figures:
        lines.append("look at: " + "; ".join(figures))
    method, _, rest = config.model.partition("_")
    twin_method = "mae" if method == "lut" else "lut"
    kept = [item for item in overrides if not item.startswith(("model=", "output_dir="))]
    twin = ["lut", "pretrain", recipe, *kept, f"model={twin_method}_{rest}",
            f"output_dir={config.output_dir}-{twin_method}"]
    lines += ["next:", f"  {shlex.join(twin)}   # the {twin_method.upper()} twin, for a comparison"]
    if "checkpoint" in summary:
        lines.append(f"  {shlex.join(probe_command(summary['checkpoint'], config))}   # linear probe of the student")
    return lines


def probe_command(checkpoint: str, config: PretrainConfig) -> list[str]:
    """`lut linprobe` of `checkpoint` on the labelled data and queries that the run's k-NN used (tar shards have no
    test split of their own, so their `knn_test_data` goes on as `test_data`)."""
    command = ["lut", "linprobe", "--checkpoint", checkpoint, "--data", config.knn_train_data or config.data]
    settings = {"test_data": config.knn_test_data, "image_column": config.image_column,
                "label_column": config.label_column}
    return command + [f"{key}={value}" for key, value in settings.items() if value]
