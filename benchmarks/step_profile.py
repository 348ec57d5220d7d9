"""Where the time of one LUT pre-training step goes: phases, and GPU kernels by kind.

Phases are timed one at a time on the same model (median over `--steps` runs each): the
teacher forward on both whole views, forward + backward of the whole loss (teacher
included), the AdamW step and the EMA update; the student's share is the forward + backward
time less the teacher's. Each phase's rate in TFLOP/s comes from the MACs counted for it
(`lut.cost.step_macs`). On a GPU, `torch.profiler` then records `--steps` full steps and sorts
their kernels into matrix products, attention, fused (Triton) element-wise kernels, the
optimiser, the EMA's foreach kernels, copies and other ATen kernels, and gives the fraction
of the step's wall time the GPU was busy.

    python benchmarks/step_profile.py --size base --batch-size 128 --precision bf16 --compile
    python benchmarks/step_profile.py --size tiny --batch-size 8 --steps 2
"""

import argparse
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Callable

import torch
from step_benchmark import StepUnderTest, add_step_arguments
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

# Kernel kinds, matched against the lower-cased kernel name in this order (attention kernels
# are built on CUTLASS too, and fused AdamW runs through multi_tensor_apply like the EMA).
KERNEL_KINDS = (
    ("attention", re.compile(r"flash|fmha|attention|sdpa")),
    ("optimizer (fused AdamW)", re.compile(r"adam")),
    ("EMA (foreach)", re.compile(r"multi_tensor_apply|foreach")),
    ("matrix products", re.compile(r"gemm|cutlass|xmma|nvjet|cublas|sm90_|sm80_|matmul")),
    ("fused element-wise (Triton)", re.compile(r"^triton")),
    ("copies and fills", re.compile(r"memcpy|memset|copy|fill")),
)


def kernel_kind(name: str) -> str:
    """The kind of a CUDA kernel from its name (`KERNEL_KINDS`), else "other ATen kernels"."""
    lowered = name.lower()
    return next((kind for kind, pattern in KERNEL_KINDS if pattern.search(lowered)), "other ATen kernels")


def busy_microseconds(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of (start, end) intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def median_milliseconds(run: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median wall time of `run` in ms, the device synchronised around each call."""
    durations = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        durations.append((time.perf_counter() - start) * 1e3)
    return statistics.median(durations)


def phase_milliseconds(step: StepUnderTest, repeats: int) -> dict[str, float]:
    """ms of the full step and of each of its phases, timed apart."""
    autocast = torch.autocast(step.device.type, dtype=step.amp, enabled=step.amp is not None)
    both_views = torch.cat(step.views)

    def teacher_forward() -> None:
        with autocast:
            step.teacher(both_views)

    def forward_backward() -> None:
        step.optimizer.zero_grad(set_to_none=True)
        with autocast:
            losses = step.losses()
        losses.total.backward()

    timings = {"full step": median_milliseconds(step.step, repeats, step.device),
               "teacher forward": median_milliseconds(teacher_forward, repeats, step.device),
               "forward + backward": median_milliseconds(forward_backward, repeats, step.device),
               "AdamW": median_milliseconds(step.optimizer.step, repeats, step.device),
               "EMA": median_milliseconds(lambda: step.ema.update(0.996), repeats, step.device)}
    timings["student forward + backward, loss"] = timings["forward + backward"] - timings["teacher forward"]
    return timings


def kernel_milliseconds(
    step: StepUnderTest, steps: int, top: int
) -> tuple[dict[str, float], list[tuple[str, float, float]], float]:
    """Per-step GPU ms by kernel kind, the `top` costliest kernels (name, ms and launches per step), and the GPU's
    busy fraction of the wall time."""
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as recording:
        torch.cuda.synchronize(step.device)
        start = time.perf_counter()
        for _ in range(steps):
            step.step()
        torch.cuda.synchronize(step.device)
        wall_us = (time.perf_counter() - start) * 1e6
    by_kind: dict[str, float] = defaultdict(float)
    by_name: dict[str, float] = defaultdict(float)
    launches: dict[str, int] = defaultdict(int)
    intervals = []
    for event in recording.events():
        # GPU-side copies of record_function ranges span kernels; count kernels, copies and fills only.
        if event.device_type != DeviceType.CUDA or getattr(event, "is_user_annotation", False):
            continue
        duration = event.time_range.elapsed_us()
        by_kind[kernel_kind(event.name)] += duration / steps / 1e3
        by_name[event.name] += duration / steps / 1e3
        launches[event.name] += 1
        intervals.append((event.time_range.start, event.time_range.end))
    costliest = [(name, milliseconds, launches[name] / steps)
                 for name, milliseconds in sorted(by_name.items(), key=lambda item: -item[1])[:top]]
    return dict(by_kind), costliest, busy_microseconds(intervals) / wall_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_step_arguments(parser)
    parser.add_argument("--steps", type=int, default=5, help="timed runs per phase, and profiled steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation happens here)")
    parser.add_argument("--top", type=int, default=12, help="how many of the costliest kernels to list")
    args = parser.parse_args()
    device = torch.device(args.device)
    step = StepUnderTest("lut", args, device)
    for _ in range(args.warmup):
        step.step()

    macs = step.macs_by_part
    rates = {"full step": macs["total"], "teacher forward": macs["teacher"], "forward + backward": macs["total"],
             "student forward + backward, loss": macs["student"]}
    print(f"ViT-{args.size}/{args.patch_size} LUT at {args.img_size}px, batch {args.batch_size}, {args.precision}, "
          f"{'compiled (' + args.compile_mode + ')' if args.compile else 'eager'}; {step.hardware}")
    print("| phase | ms | share of the step | TFLOP/s |")
    print("|---|---|---|---|")
    timings = phase_milliseconds(step, args.steps)
    for phase, milliseconds in timings.items():
        rate = rates.get(phase)
        tflops = f"{2 * rate * args.batch_size / milliseconds / 1e9:.3g}" if rate else "-"
        print(f"| {phase} | {milliseconds:.2f} | {100 * milliseconds / timings['full step']:.0f} % | {tflops} |")
    print(f"{args.batch_size / timings['full step'] * 1e3:.0f} img/s")
    if device.type != "cuda":
        return
    by_kind, costliest, busy = kernel_milliseconds(step, args.steps, args.top)
    total = sum(by_kind.values())
    print(f"\nGPU kernels per step: {total:.2f} ms, the GPU busy {100 * busy:.0f} % of the wall time")
    print("| kernels | ms/step | share |")
    print("|---|---|---|")
    for kind, milliseconds in sorted(by_kind.items(), key=lambda item: -item[1]):
        print(f"| {kind} | {milliseconds:.2f} | {100 * milliseconds / total:.0f} % |")
    print("\n| costliest kernels | ms/step | launches/step |")
    print("|---|---|---|")
    for name, milliseconds, count in costliest:
        print(f"| {name[:110]} | {milliseconds:.2f} | {count:g} |")


if __name__ == "__main__":
    main()
