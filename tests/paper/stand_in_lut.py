"""A stand-in for `python -m lut.cli COMMAND ...` in graph tests: notes the call, then writes the command's
`summary.json` (a robustness run: `results.json`) into its output folder at once (or sleeps first, or fails, as
the environment asks).

STAND_IN_CALLS: file the call is appended to ("NODE_OUTPUT_NAME" or "NODE_OUTPUT_NAME resumed");
STAND_IN_SLEEP: "NAME:SECONDS", sleep before finishing when the output folder's name is NAME;
STAND_IN_FAIL: a name whose run exits with code 3.
"""

import json
import os
import sys
import time
from pathlib import Path


def output_folder(arguments: list[str]) -> Path:
    """The folder given as `--output DIR` or `output_dir=DIR`."""
    for index, token in enumerate(arguments):
        if token == "--output":
            return Path(arguments[index + 1])
        if token.startswith("output_dir="):
            return Path(token.partition("=")[2])
    raise SystemExit("stand-in: no output folder")


def main() -> int:
    arguments = sys.argv[1:]
    output = output_folder(arguments)
    seed = int(next(token for token in arguments if token.startswith("seed=")).partition("=")[2])
    resumed = (output / "started").is_file()
    output.mkdir(parents=True, exist_ok=True)
    with open(os.environ["STAND_IN_CALLS"], "a") as calls:
        calls.write(f"{output.name}{' resumed' if resumed else ''}\n")
    (output / "started").write_text("")
    if os.environ.get("STAND_IN_FAIL") == output.name:
        print(f"stand-in failure in {output.name}", flush=True)
        return 3
    name, _, seconds = os.environ.get("STAND_IN_SLEEP", "").partition(":")
    if name == output.name:
        time.sleep(float(seconds))
    if arguments[0] == "robustness":
        label = arguments[arguments.index("--labels") + 1]
        scores = {"top1": 60.0 + seed, "hole_mean": 30.0 + 3 * seed, "rotation_mean": 20.0, "size_mean": 25.0,
                  "location_mean": 15.0}
        (output / "results.json").write_text(json.dumps({"results": {label: {"benchmarks": {"fashion-mnist":
                                                                                             scores}}}}))
        return 0
    final = {"top1": 50.0 + seed, "cls_top1": 40.0 + 2 * seed, "mIoU": 30.0}
    (output / "summary.json").write_text(json.dumps({"final": final}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
