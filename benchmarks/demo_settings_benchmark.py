"""Images per second of the demo's pre-training under each precision and data-pipeline setting.

Runs `lut pretrain demo` for --steps steps (no k-NN, no figures) once per setting, one after the
other in this process's machine, and prints a Markdown table of the images per second that the
run logged at its last step, with the ratio to the first setting. The demo recipe runs
`precision=auto` with views made batched in the training process and no loader processes: the
"augment_on=device" row of bf16 on a CPU with native bf16, of fp32 elsewhere. The first line says
which class this CPU is (torch's instruction set and whether oneDNN runs bf16 natively).

    python benchmarks/demo_settings_benchmark.py --steps 40
    # a CPU without native bf16, imitated on one with it: cap oneDNN, ATen and MKL at AVX2
    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
        python benchmarks/demo_settings_benchmark.py --steps 40
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import yaml

from lut.runtime.precision import cpu_has_native_bf16

SETTINGS = {
    "fp32, 1 loader process": ["precision=fp32", "augment_on=loader", "num_workers=1"],
    "fp32, 2 loader processes": ["precision=fp32", "augment_on=loader", "num_workers=2"],
    "fp32, augment_on=device, no loader process": ["precision=fp32", "augment_on=device", "num_workers=0"],
    "bf16, 1 loader process": ["precision=bf16", "augment_on=loader", "num_workers=1"],
    "bf16, augment_on=device, no loader process": ["precision=bf16", "augment_on=device", "num_workers=0"],
}


def images_per_second(overrides: list[str], steps: int, output: Path) -> tuple[float, str]:
    """The img/s that a `steps`-step demo run with `overrides` logs at its last step, and the precision that ran
    (an emulated bf16 runs fp32)."""
    command = [sys.executable, "-m", "lut.cli", "pretrain", "demo", *overrides, f"max_steps={steps}",
               "knn_every_epochs=0", "final_knn=false", "num_visualize=0", f"log_every_steps={steps // 2}",
               f"output_dir={output}", "resume=none", "log_to=none"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    ran = yaml.safe_load((output / "config.yaml").read_text())["precision"]
    return [record for record in records if "img_per_s" in record][-1]["img_per_s"], ran


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40, help="optimiser steps per setting (img/s of the last half)")
    args = parser.parse_args()
    native = "native bf16" if cpu_has_native_bf16() else "no native bf16 (bf16 is emulated)"
    print(f"demo recipe, {args.steps} steps per setting; {platform.processor() or platform.machine()}, "
          f"{torch.backends.cpu.get_cpu_capability()}, {native}; {torch.get_num_threads()} threads, torch "
          f"{torch.__version__}\n")
    print("| setting | ran as | img/s | ratio |\n|---|---|---|---|")
    first = None
    with tempfile.TemporaryDirectory() as folder:
        for index, (name, overrides) in enumerate(SETTINGS.items()):
            rate, ran = images_per_second(overrides, args.steps, Path(folder) / str(index))
            first = first or rate
            print(f"| {name} | {ran} | {rate:.1f} | {rate / first:.2f} |", flush=True)


if __name__ == "__main__":
    main()
