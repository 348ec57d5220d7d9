"""Run under `torchrun --nproc_per_node 2`: one tiny LUT run with DDP, the same with FSDP, FSDP stopped and resumed,
and DDP stopped and resumed under FSDP.

Usage: fsdp_probe.py DATA_FOLDER OUTPUT_FOLDER. Each run writes its usual files to OUTPUT_FOLDER/{ddp,fsdp,
fsdp_resumed,ddp_then_fsdp}; each rank writes OUTPUT_FOLDER/shards-rank{R}.json with how many student weights
it held under FSDP and whether they were DTensors, for the test to check that FSDP did shard.
"""

import json
import sys
from pathlib import Path

from torch.distributed.tensor import DTensor

from lut.config import build_config
from lut.training.distributed import init_distributed, shutdown_distributed
from lut.training.pretrain import PretrainRun

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import tiny_values  # noqa: E402

STEPS = 3
STOP_STEP = 1
# 20 images per rank, batch 4, 2 micro-batches per step: 2 steps per epoch, so the runs cross an epoch boundary.
# Clipping, accumulation, the k-NN monitor, the final k-NN and the figure all see the sharded models.
SETTINGS = {"epochs": 2, "accum_iter": 2, "clip_grad": 1.0, "knn_every_epochs": 1, "final_knn": True, "knn_k": 5,
            "num_visualize": 2}


def main(data: str, output: str) -> None:
    context = init_distributed("cpu")
    for name, segments in (("ddp", [("ddp", STEPS)]), ("fsdp", [("fsdp", STEPS)]),
                           ("fsdp_resumed", [("fsdp", STOP_STEP), ("fsdp", STEPS)]),
                           ("ddp_then_fsdp", [("ddp", STOP_STEP), ("fsdp", STEPS)])):
        for parallel, max_steps in segments:
            values = tiny_values(Path(data), Path(output) / name, parallel=parallel, max_steps=max_steps, **SETTINGS)
            run = PretrainRun(build_config(values), context)
            run.run()
        if name == "fsdp":
            weights = list(run.student.parameters())
            shards = {"dtensors": all(isinstance(weight, DTensor) for weight in weights),
                      "local": sum(weight.to_local().numel() for weight in weights),
                      "full": sum(weight.numel() for weight in weights)}
            (Path(output) / f"shards-rank{context.rank}.json").write_text(json.dumps(shards))
    shutdown_distributed()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
