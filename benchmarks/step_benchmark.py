"""Time one pre-training step (student + teacher + backward + AdamW + EMA) for LUT and MAE.

Both methods are timed in the same process on the same device, alternating, and the
LUT/MAE time ratio is printed next to the arithmetic (MAC) ratio of the two steps. On a GPU
the table also gives the peak memory of each method's steps and the model FLOP utilisation
(2 FLOP per counted MAC at the measured rate, over the card's dense bf16 peak).

    python benchmarks/step_benchmark.py --size tiny --img-size 224 --batch-size 32
    python benchmarks/step_benchmark.py --size base --batch-size 128 --precision bf16 --compile
"""

import argparse
import platform
import statistics
import time

import torch
from timm.optim import param_groups_weight_decay

from lut import create_model
from lut.config import COMPILE_MODES
from lut.cost import step_macs
from lut.models import Teacher
from lut.runtime.compiling import compile_forward
from lut.training.lut_step import LossSettings, StepLosses, pretrain_losses
from lut.training.teacher import EMAUpdater

# Dense bf16 tensor-core peaks in TFLOP/s, matched against the device name in this order.
BF16_PEAK_TFLOPS = (("H100 PCIe", 756.0), ("H100", 989.0), ("H200", 989.0), ("A100", 312.0))


def bf16_peak_tflops(device_name: str) -> float | None:
    """The card's dense bf16 peak, or None for a card not in `BF16_PEAK_TFLOPS`."""
    return next((peak for name, peak in BF16_PEAK_TFLOPS if name in device_name), None)


class StepUnderTest:
    """One method's model, teacher, optimiser and inputs, ready to step."""

    def __init__(self, method: str, args: argparse.Namespace, device: torch.device) -> None:
        name = f"{method}_vit_{args.size}_patch{args.patch_size}"
        self.student = create_model(
            name,
            img_size=args.img_size,
            decoder_embed_dim=args.decoder_dim,
            decoder_depth=args.decoder_depth,
            decoder_num_heads=args.decoder_heads,
            head_hidden_dim=args.head_hidden_dim,
            activation_checkpointing=args.activation_checkpointing,
        ).to(device)
        self.teacher = Teacher.from_student(self.student) if method == "lut" else None
        self.ema = EMAUpdater(self.teacher, self.student) if self.teacher is not None else None
        self.optimizer = torch.optim.AdamW(
            param_groups_weight_decay(self.student, 0.05), lr=1e-4, betas=(0.9, 0.95), fused=device.type == "cuda"
        )
        self.settings = LossSettings(self.student.patch_size, self.student.num_patches, args.mask_ratio)
        views = 2 if method == "lut" else 1
        self.views = [torch.randn(args.batch_size, 3, args.img_size, args.img_size, device=device)
                      for _ in range(views)]
        self.generator = torch.Generator().manual_seed(0)
        self.amp = {"fp32": None, "bf16": torch.bfloat16}[args.precision]
        self.device = device
        self.macs_by_part = step_macs(self.student, args.mask_ratio)
        self.macs = self.macs_by_part["total"]
        self.peak_bytes = 0
        if args.compile:
            # As `compile=true` in pre-training does; the optimiser and the EMA update stay eager.
            compile_forward(self.student, args.compile_mode)
            if self.teacher is not None:
                compile_forward(self.teacher, args.compile_mode)

    @property
    def hardware(self) -> str:
        """The device's name."""
        return torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else platform.processor() or "cpu"

    def losses(self) -> StepLosses:
        """One forward of the method's losses (the caller sets autocast)."""
        return pretrain_losses(self.student, self.teacher, self.views, self.settings, self.generator)

    def step(self) -> None:
        with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
            losses = self.losses()
        losses.total.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(0.996)

    def time_steps(self, steps: int) -> float:
        """Seconds per step, median over `steps`; on a GPU also records the peak memory of these steps."""
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        durations = []
        for _ in range(steps):
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            self.step()
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            durations.append(time.perf_counter() - start)
        if self.device.type == "cuda":
            self.peak_bytes = max(self.peak_bytes, torch.cuda.max_memory_allocated(self.device))
        return statistics.median(durations)


def add_step_arguments(parser: argparse.ArgumentParser) -> None:
    """The model, input and precision options shared with `step_profile.py`."""
    parser.add_argument("--size", default="tiny", choices=["tiny", "small", "base", "large", "huge"])
    parser.add_argument("--patch-size", type=int, default=16)
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--mask-ratio", type=float, default=0.75)
    parser.add_argument("--decoder-dim", type=int, default=512)
    parser.add_argument("--decoder-depth", type=int, default=8)
    parser.add_argument("--decoder-heads", type=int, default=16)
    parser.add_argument("--head-hidden-dim", type=int, default=4096)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--compile", action="store_true", help="torch.compile the student and teacher forward")
    parser.add_argument("--compile-mode", default="default", choices=COMPILE_MODES, help="torch.compile's mode")
    parser.add_argument("--activation-checkpointing", action="store_true",
                        help="recompute the student encoder's blocks in the backward pass")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_step_arguments(parser)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per method and round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per method")
    parser.add_argument("--rounds", type=int, default=2, help="alternations LUT, MAE, LUT, MAE, ...")
    parser.add_argument("--methods", default="lut,mae", choices=["lut,mae", "lut", "mae"],
                        help="one method alone keeps the other's weights out of the peak memory")
    args = parser.parse_args()

    device = torch.device(args.device)
    methods = {method: StepUnderTest(method, args, device) for method in args.methods.split(",")}
    for method in methods.values():
        for _ in range(args.warmup):
            method.step()
    seconds = {name: [] for name in methods}
    for _ in range(args.rounds):
        for name, method in methods.items():
            seconds[name].append(method.time_steps(args.steps))
    per_step = {name: min(values) for name, values in seconds.items()}
    hardware = next(iter(methods.values())).hardware
    peak = bf16_peak_tflops(hardware) if device.type == "cuda" else None
    print(f"device: {hardware}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    compiled = "compiled" if args.compile_mode == "default" else f"compiled ({args.compile_mode})"
    options = [args.precision, *([compiled] if args.compile else []),
               *(["activation checkpointing"] if args.activation_checkpointing else [])]
    reference = f"{peak:g} TFLOP/s dense bf16" if peak else "no known peak"
    print(f"ViT-{args.size}/{args.patch_size} at {args.img_size}px, batch {args.batch_size}, {', '.join(options)}, "
          f"decoder {args.decoder_dim}d{args.decoder_depth}b, heads {args.head_hidden_dim}; MFU against {reference}")
    print("| method | ms/step | img/s | GMAC/img | TFLOP/s | MFU | peak memory GiB |")
    print("|---|---|---|---|---|---|---|")
    for name, method in methods.items():
        images_per_s = args.batch_size / per_step[name]
        tflops = 2 * method.macs * images_per_s / 1e12
        mfu = f"{100 * tflops / peak:.1f} %" if peak else "-"
        memory = f"{method.peak_bytes / 2**30:.1f}" if device.type == "cuda" else "-"
        print(f"| {name.upper()} | {per_step[name] * 1e3:.1f} | {images_per_s:.1f} | {method.macs / 1e9:.2f} "
              f"| {tflops:.2f} | {mfu} | {memory} |")
    if len(methods) == 2:
        time_ratio = per_step["lut"] / per_step["mae"]
        mac_ratio = methods["lut"].macs / methods["mae"].macs
        print(f"LUT/MAE time ratio {time_ratio:.2f}, MAC ratio {mac_ratio:.2f}")


if __name__ == "__main__":
    main()
