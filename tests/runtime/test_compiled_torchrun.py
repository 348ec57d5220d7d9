"""compile=true under torchrun: the compiled student and teacher match the eager run under DDP and FSDP.

In a file of its own: it is the suite's slowest test, and pytest-xdist spreads the suite file by file.
"""

import json

import pytest
import torch
from helpers import as_overrides, tiny_values, torchrun

from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint


@pytest.mark.slow
@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_compiled_student_and_teacher_under_torchrun_match_eager(tmp_path, image_folder, parallel, monkeypatch):
    """compile=true through the DDP wrapper (graphs split at the gradient buckets) or on the FSDP-sharded models:
    same losses and weights as the eager run, and no cached graph guarded on a module attribute (torch's graph cache
    fails to look such entries up: `KeyError: 'self'` in the next run, or in the rank that compiles second)."""
    cache = tmp_path / "inductor_cache"
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(cache))
    runs = {}
    for name, compiled in (("eager", False), ("compiled", True)):
        values = tiny_values(image_folder, tmp_path / name, max_steps=2, compile=compiled, parallel=parallel)
        result = torchrun("-m", "lut.cli", "pretrain", *as_overrides(values))
        assert result.returncode == 0, result.stderr[-4000:]
        records = [json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        runs[name] = (records, load_checkpoint(tmp_path / name / LAST_CHECKPOINT))
    (eager_records, eager), (compiled_records, compiled) = runs["eager"], runs["compiled"]
    assert [record["step"] for record in compiled_records] == [record["step"] for record in eager_records] == [1, 2]
    for eager_record, compiled_record in zip(eager_records, compiled_records, strict=True):
        for key in ("loss", "mae_loss", "bc_loss", "grad_norm"):
            assert compiled_record[key] == pytest.approx(eager_record[key], rel=1e-5), (eager_record["step"], key)
    # Attention key biases get no gradient in exact arithmetic (softmax ignores a constant per query), only
    # rounding noise, which Adam's first steps scale to +-lr: there the runs may differ by twice the lrs' sum.
    key_bias_tolerance = 2 * sum(record["lr"] for record in eager_records)
    for part in ("model", "model_ema"):
        assert compiled[part].keys() == eager[part].keys()  # no `_orig_mod.` prefixes
        for key, value in eager[part].items():
            got = compiled[part][key]
            if key.endswith("attn.qkv.bias"):
                width = value.shape[0] // 3
                torch.testing.assert_close(got[width:2 * width], value[width:2 * width], rtol=0,
                                           atol=key_bias_tolerance, msg=f"{part}: {key} (key bias)")
                got, value = torch.cat([got[:width], got[2 * width:]]), torch.cat([value[:width], value[2 * width:]])
            torch.testing.assert_close(got, value, rtol=1e-5, atol=1e-5, msg=f"{part}: {key}")
    cached_graphs = [path for path in (cache / "fxgraph").rglob("*") if path.is_file()]
    assert cached_graphs
    assert [path for path in cached_graphs if b"L['self']" in path.read_bytes()] == []
