"""A stand-in for `python -m lut.cli COMMAND ...` in transfer-table graph tests (standard library only, so that it
starts at once): `transfer ... --point I` writes run I's `point.json` (test top-1 10 + 5 I, validation top-1 20 - I)
into its folder (`OUTPUT/LABEL/KEY=VALUE,...`, the grid's values as the command gives them); `transfer ...` without
`--point` writes `results.json` with the grid's summary from those files (the keys the table reads); any other
command is `stand_in_lut`'s.

STAND_IN_CALLS: file each call is appended to (`stand_in_lut`'s name, or "transfer LABEL point I" / "transfer LABEL
summary").
"""

import itertools
import json
import os
import statistics
import sys
from pathlib import Path

import stand_in_lut


def value_of(arguments: list[str], option: str) -> str:
    """The token after `option`."""
    return arguments[arguments.index(option) + 1]


def transfer(arguments: list[str]) -> int:
    """Write the point's result, or the summary of every point."""
    output, label = Path(value_of(arguments, "--output")), value_of(arguments, "--labels")
    axes = [arguments[index + 1].partition("=") for index, token in enumerate(arguments) if token == "--grid"]
    folders = [output / label / ",".join(f"{key}={value}" for (key, _, _), value in zip(axes, values, strict=True))
               for values in itertools.product(*(values.split(",") for _, _, values in axes))]
    with open(os.environ["STAND_IN_CALLS"], "a") as calls:
        calls.write(f"transfer {label} " + (f"point {value_of(arguments, '--point')}\n" if "--point" in arguments
                                             else "summary\n"))
    if "--point" in arguments:
        index = int(value_of(arguments, "--point"))
        folders[index].mkdir(parents=True, exist_ok=True)
        point = {"point": {}, "val": {"top1": 20.0 - index}, "test": {"top1": 10.0 + 5 * index}}
        (folders[index] / "point.json").write_text(json.dumps(point))
        return 0
    points = [json.loads((folder / "point.json").read_text()) for folder in folders]
    tests = [point["test"]["top1"] for point in points]
    selected = max(range(len(points)), key=lambda index: points[index]["val"]["top1"])
    summary = {"finished": len(points), "grid_max": max(tests), "mean": statistics.fmean(tests),
               "std": statistics.pstdev(tests), "selected_test": tests[selected]}
    results = {"encoders": [{"label": label, "points": points, "summary": summary}]}
    (output / "results.json").write_text(json.dumps(results))
    return 0


def main() -> int:
    arguments = sys.argv[1:]
    return transfer(arguments) if arguments[0] == "transfer" else stand_in_lut.main()


if __name__ == "__main__":
    sys.exit(main())
