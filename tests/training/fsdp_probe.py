"""Run under `torchrun --nproc_per_node 2`: one tiny LUT run with DDP, the same with FSDP, FSDP stopped and resumed,
DDP stopped and resumed under FSDP, and DDP and FSDP in bf16.

Usage: fsdp_probe.py DATA_FOLDER OUTPUT_FOLDER. Each run writes its usual files to OUTPUT_FOLDER/{ddp,fsdp,
fsdp_resumed,ddp_then_fsdp,ddp_bf16,fsdp_bf16}; each rank writes OUTPUT_FOLDER/shards-rank{R}.json with how many
student weights it held under FSDP and whether they were DTensors, for the test to check that FSDP did shard, and
the types of a block's attention and LayerNorm weights as its attention layer runs in the bf16 FSDP run.
"""

import json
import os
import sys
from functools import partial
from pathlib import Path

from timm.models.vision_transformer import Block
from torch.distributed.tensor import DTensor

from lut.config import build_config
from lut.runtime.distributed import init_distributed, shutdown_distributed
from lut.training.pretrain import PretrainRun

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import tiny_values  # noqa: E402

STEPS = 3
STOP_STEP = 1
# 20 images per rank, batch 4, 2 micro-batches per step: 2 steps per epoch, so the runs cross an epoch boundary.
# Clipping, accumulation, the k-NN monitor, the final k-NN and the figure all see the sharded models.
SETTINGS = {"epochs": 2, "accum_iter": 2, "clip_grad": 1.0, "knn_every_epochs": 1, "final_knn": True, "knn_k": 5,
            "num_visualize": 2}


def record_weight_types(record: dict, block: Block, attention, inputs) -> None:
    """Forward pre-hook of `block.attn`: the types of the gathered attention and LayerNorm weights, first call."""
    record.setdefault("bf16_forward", {"attention": str(attention.qkv.weight.dtype),
                                       "layer_norm": str(block.norm1.weight.dtype)})


def main(data: str, output: str) -> None:
    # The bf16 runs test FSDP's bf16 gathers: they run bf16 on any CPU (emulated where it is not native).
    os.environ["LUT_CPU_NATIVE_BF16"] = "1"
    context = init_distributed("cpu")
    shards = {}
    for name, segments, precision in (("ddp", [("ddp", STEPS)], "fp32"), ("fsdp", [("fsdp", STEPS)], "fp32"),
                                      ("fsdp_resumed", [("fsdp", STOP_STEP), ("fsdp", STEPS)], "fp32"),
                                      ("ddp_then_fsdp", [("ddp", STOP_STEP), ("fsdp", STEPS)], "fp32"),
                                      ("ddp_bf16", [("ddp", STEPS)], "bf16"), ("fsdp_bf16", [("fsdp", STEPS)], "bf16")):
        for parallel, max_steps in segments:
            values = tiny_values(Path(data), Path(output) / name, parallel=parallel, max_steps=max_steps,
                                 precision=precision, **SETTINGS)
            run = PretrainRun(build_config(values), context)
            if name == "fsdp_bf16":
                block = next(module for module in run.student.modules() if isinstance(module, Block))
                block.attn.register_forward_pre_hook(partial(record_weight_types, shards, block))
            run.run()
        if name == "fsdp":
            weights = list(run.student.parameters())
            shards.update({"dtensors": all(isinstance(weight, DTensor) for weight in weights),
                           "local": sum(weight.to_local().numel() for weight in weights),
                           "full": sum(weight.numel() for weight in weights)})
    (Path(output) / f"shards-rank{context.rank}.json").write_text(json.dumps(shards))
    shutdown_distributed()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
