"""`compile=true` compiles the student and teacher forward in place, in `compile_mode`, with static shapes (compiled
runs are compared with eager ones in test_distributed.py and test_activation_checkpointing.py)."""

import torch

from lut.runtime.distributed import DistributedContext
from lut.training.pretrain import PretrainRun


def test_compile_switch_compiles_student_and_teacher_in_place(tiny_config, tmp_path, monkeypatch):
    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile",
                        lambda module, mode, dynamic: compiled.append((module, mode, dynamic)))
    plain = PretrainRun(tiny_config(tmp_path / "plain"), DistributedContext())
    assert compiled == []
    run = PretrainRun(tiny_config(tmp_path / "compiled", compile=True), DistributedContext())
    assert compiled == [(run.student, "default", False), (run.teacher, "default", False)]
    assert run.student.state_dict().keys() == plain.student.state_dict().keys()
    compiled.clear()
    tuned = PretrainRun(tiny_config(tmp_path / "tuned", compile=True, compile_mode="max-autotune-no-cudagraphs"),
                        DistributedContext())
    assert compiled == [(tuned.student, "max-autotune-no-cudagraphs", False),
                        (tuned.teacher, "max-autotune-no-cudagraphs", False)]
