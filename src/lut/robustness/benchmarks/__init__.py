"""The benchmarks by name, in the column order of the paper's Table 5."""

from collections.abc import Callable
from pathlib import Path

from lut.errors import UsageError
from lut.robustness.benchmarks.base import Benchmark, Pass
from lut.robustness.benchmarks.fashion_mnist import fashion_mnist
from lut.robustness.benchmarks.imagenet import (
    imagenet_a,
    imagenet_o,
    imagenet_r,
    imagenet_real,
    imagenet_sketch,
    imagenet_v2,
    imagenet_val,
    occlusion,
)
from lut.robustness.benchmarks.objectnet import objectnet
from lut.robustness.benchmarks.si_score import si_score_location, si_score_rotation, si_score_size
from lut.robustness.options import RobustnessOptions

Builder = Callable[[Path, RobustnessOptions, dict[str, Path]], Benchmark]

# name -> (builder, Table 5 column)
BENCHMARKS: dict[str, tuple[Builder, str]] = {
    "imagenet-val": (imagenet_val, "IN-1k"),
    "imagenet-v2": (imagenet_v2, "IN-V2"),
    "imagenet-real": (imagenet_real, "IN-Real"),
    "imagenet-a": (imagenet_a, "IN-A"),
    "imagenet-o": (imagenet_o, "IN-O (AUPR)"),
    "imagenet-sketch": (imagenet_sketch, "Sketch"),
    "imagenet-r": (imagenet_r, "IN-R"),
    "occlusion": (occlusion, "Cocc"),
    "objectnet": (objectnet, "ObjNet"),
    "si-score-size": (si_score_size, "SI-size"),
    "si-score-location": (si_score_location, "SI-loc"),
    "si-score-rotation": (si_score_rotation, "SI-rot"),
    "fashion-mnist": (fashion_mnist, "FMNIST"),
}
BUILT_IN = {"fashion-mnist"}

__all__ = ["BENCHMARKS", "Benchmark", "Pass", "build_benchmarks", "parse_benchmark_specs"]


def parse_benchmark_specs(specs: list[str]) -> dict[str, Path | None]:
    """`NAME=PATH` items (built-in benchmarks may omit `=PATH`) -> {name: path}, in Table 5's order.

    Raises:
        UsageError: unknown names, a missing path, or a name given twice.
    """
    chosen: dict[str, Path | None] = {}
    for spec in specs:
        name, _, path = spec.partition("=")
        if name not in BENCHMARKS:
            raise UsageError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
        if not path and name not in BUILT_IN:
            raise UsageError(f"--benchmark {name} needs the data's folder: --benchmark {name}=PATH")
        if name in chosen:
            raise UsageError(f"--benchmark {name} is given twice")
        chosen[name] = Path(path).expanduser() if path else None
    return {name: chosen[name] for name in BENCHMARKS if name in chosen}


def build_benchmarks(specs: dict[str, Path | None], options: RobustnessOptions) -> list[Benchmark]:
    """Check each benchmark's folder against its layout and prepare its passes and scoring."""
    others = {name: path for name, path in specs.items() if path is not None}
    benchmarks = []
    for name, path in specs.items():
        builder, column = BENCHMARKS[name]
        benchmark = builder(path, options, others)
        benchmark.columns = benchmark.columns or {column: benchmark.headline}
        benchmarks.append(benchmark)
    return benchmarks
