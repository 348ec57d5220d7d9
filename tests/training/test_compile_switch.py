"""`compile=true` compiles the student and teacher forward in place (compilation itself is checked on a GPU)."""

import torch

from lut.training.distributed import DistributedContext
from lut.training.pretrain import PretrainRun


def test_compile_switch_compiles_student_and_teacher_in_place(tiny_config, tmp_path, monkeypatch):
    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda module, *args, **kwargs: compiled.append(module))
    plain = PretrainRun(tiny_config(tmp_path / "plain"), DistributedContext())
    assert compiled == []
    run = PretrainRun(tiny_config(tmp_path / "compiled", compile=True), DistributedContext())
    assert compiled == [run.student, run.teacher]
    assert run.student.state_dict().keys() == plain.student.state_dict().keys()
