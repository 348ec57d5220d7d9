"""Time PyTorch's attention kernels on the attention shapes of one LUT pre-training step.

The step attends in three shapes: the student encoder over each view's visible tokens (2B
sequences, forward and backward), the teacher over whole views (2B sequences, forward only)
and the MAE decoder over all positions of view 1 (B sequences, forward and backward). For each
shape and each `scaled_dot_product_attention` backend this prints the time of one call and
of the step's calls (one per block), in bf16, with q, k and v cut from one qkv tensor as timm's
blocks do.

    python benchmarks/attention_benchmark.py --batch-size 256
"""

import argparse
import statistics
from dataclasses import dataclass

import torch
from torch.nn import functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

BACKENDS = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION}


@dataclass(frozen=True)
class AttentionShape:
    """One kind of attention call in the step."""

    name: str
    sequences: int
    heads: int
    tokens: int
    head_dim: int
    calls_per_step: int
    backward: bool


def step_shapes(batch: int, visible: int = 49, patches: int = 196) -> list[AttentionShape]:
    """ViT-B/16 with MAE's 512-wide, 8-block, 16-head decoder, CLS included."""
    return [AttentionShape("student encoder", 2 * batch, 12, visible + 1, 64, 12, True),
            AttentionShape("teacher", 2 * batch, 12, patches + 1, 64, 12, False),
            AttentionShape("decoder", batch, 16, patches + 1, 32, 8, True)]


def time_call(shape: AttentionShape, backend: SDPBackend, repeats: int) -> float:
    """Median ms of one forward (+ backward) call."""
    qkv = torch.randn(shape.sequences, shape.tokens, 3, shape.heads, shape.head_dim, device="cuda",
                      dtype=torch.bfloat16, requires_grad=shape.backward)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (S, heads, T, head_dim)
    gradient = torch.randn(shape.sequences, shape.heads, shape.tokens, shape.head_dim, device="cuda",
                           dtype=torch.bfloat16)
    durations = []
    with sdpa_kernel(backend):
        for _ in range(repeats + 2):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            output = F.scaled_dot_product_attention(q, k, v)
            if shape.backward:
                output.backward(gradient)
            end.record()
            end.synchronize()
            durations.append(start.elapsed_time(end))
    return statistics.median(durations[2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, batch {args.batch_size}, bf16; "
          "ms per call (ms per step)")
    print("| attention | " + " | ".join(BACKENDS) + " |")
    print("|---|" + "---|" * len(BACKENDS))
    totals = dict.fromkeys(BACKENDS, 0.0)
    for shape in step_shapes(args.batch_size):
        cells = []
        for name, backend in BACKENDS.items():
            try:
                milliseconds = time_call(shape, backend, args.repeats)
            except RuntimeError as error:
                cells.append(f"unavailable ({str(error).splitlines()[0][:40]})")
                totals[name] = float("nan")
                continue
            totals[name] += milliseconds * shape.calls_per_step
            cells.append(f"{milliseconds:.3f} ({milliseconds * shape.calls_per_step:.2f})")
        kind = "forward + backward" if shape.backward else "forward"
        print(f"| {shape.name}: {shape.sequences} x {shape.heads} heads x {shape.tokens} tokens x {shape.head_dim}, "
              f"{kind} | " + " | ".join(cells) + " |")
    print("| per step | " + " | ".join(f"{total:.2f}" for total in totals.values()) + " |")


if __name__ == "__main__":
    main()
