"""Run under `torchrun --nproc_per_node 2`: a few tiny LUT steps on CPU (gloo), recording per-rank tensors.

Usage: ddp_probe.py DATA_FOLDER OUTPUT_FOLDER STEPS. Each rank writes OUTPUT_FOLDER/probe-rank{R}.pt with
its student before DDP, its teacher at the start, the gradients of every step (after the all-reduce) and
its final student and teacher, for the test to compare across ranks.
"""

import sys
from pathlib import Path

import torch

import lut.training.pretrain_models as models_module
from lut.config import build_config
from lut.runtime.distributed import init_distributed, shutdown_distributed
from lut.training.pretrain import PretrainRun

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import tiny_values  # noqa: E402


def main(data: str, output: str, steps: int) -> None:
    context = init_distributed("cpu")
    rank = context.rank
    record: dict = {"world_size": context.world_size, "grads": []}

    # Give every rank a different initialisation: DDP must broadcast rank 0's weights before the
    # teacher is copied, or each rank would start from its own teacher (a defect of the released code).
    build_student = models_module.build_student

    def build_student_per_rank(config):
        torch.manual_seed(1000 + rank)
        student = build_student(config)
        record["initial_student"] = {k: v.clone() for k, v in student.state_dict().items()}
        return student

    models_module.build_student = build_student_per_rank
    run = PretrainRun(build_config(tiny_values(Path(data), Path(output), max_steps=steps)), context)
    record["teacher_at_start"] = {k: v.clone() for k, v in run.teacher.state_dict().items()}

    optimizer_step = run.optimizer.step

    def recording_step(*args, **kwargs):
        record["grads"].append({name: p.grad.clone() for name, p in run.student.named_parameters()})
        return optimizer_step(*args, **kwargs)

    run.optimizer.step = recording_step
    run.run()
    record["student"] = run.student.state_dict()
    record["teacher"] = run.teacher.state_dict()
    torch.save(record, Path(output) / f"probe-rank{rank}.pt")
    shutdown_distributed()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
