"""The end of `lut pretrain`: the k-NN rise, the figures and the next commands, read off the run's outputs."""

import json

from lut.commands.pretrain import closing_notes, knn_rise
from lut.config import resolve_config


def write_run(output, monitored: list[tuple[int, float]], knn: dict) -> dict:
    output.mkdir()
    records = [{"step": 10, "epoch": 0.5, "loss": 1.0, "lr": 1e-3}]
    records += [{"step": step, "epoch": step / 20, "knn_top1": top1} for step, top1 in monitored]
    (output / "metrics.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    return {"output_dir": str(output), "steps": 40, "rank": 0, "checkpoint": f"{output}/checkpoint-last.pth",
            "loss_curve": f"{output}/loss_curve.png", "reconstructions": f"{output}/reconstructions.png",
            "knn": {"k": 20, "train_samples": 5000, "test_samples": 2000, **knn}}


def test_closing_notes_give_the_rise_from_step_0_the_figures_and_the_twin_and_probe_commands(tmp_path):
    output = tmp_path / "run"
    summary = write_run(output, [(0, 60.5), (20, 66.0), (40, 71.25), (40, 71.25)],
                        {"raw_pixels": 80.0, "student": 71.25, "teacher": 70.0})
    config = resolve_config("demo", [f"output_dir={output}"])
    summary["teacher"] = {"momentum": 0.99, "schedule_steps": 40, "average_step": 17.4, "initial_share": 0.316}
    lines = closing_notes(summary, config, "demo", ["seed=1", f"output_dir={output}"])
    assert lines == [
        "k-NN top-1 (k=20, 2000 test images, 5000 as memory): student 60.50% at step 0 -> 71.25% at step 40 "
        "(+10.75 points); teacher 70.00%; raw pixels 80.00%",
        "the teacher is the EMA of the student's weights (momentum 0.99 rising to 1 over 40 steps): an average "
        "centred on step 17, with 32% still the step-0 weights; compare it with the student's k-NN near that step",
        f"look at: {output}/loss_curve.png (losses, learning rate, k-NN curve); "
        f"{output}/reconstructions.png (masked input, reconstruction, original)",
        "next:",
        f"  lut pretrain demo seed=1 model=mae_vit_tiny_patch16 output_dir={output}-mae   "
        "# the MAE twin, for a comparison",
        f"  lut linprobe --checkpoint {output}/checkpoint-last.pth --data fashion-mnist   "
        "# linear probe of the student",
    ]


def test_mae_runs_get_the_lut_twin(tmp_path):
    output = tmp_path / "mae run"
    summary = write_run(output, [(0, 60.0), (40, 65.0)], {"raw_pixels": 80.0, "student": 65.0})
    config = resolve_config("demo", ["model=mae_vit_tiny_patch16", f"output_dir={output}"])
    lines = closing_notes(summary, config, "demo", ["model=mae_vit_tiny_patch16"])
    assert lines[0].endswith("student 60.00% at step 0 -> 65.00% at step 40 (+5.00 points); raw pixels 80.00%")
    assert lines[3] == f"  lut pretrain demo model=lut_vit_tiny_patch16 'output_dir={output}-lut'   # the LUT twin, " \
                       "for a comparison"


def test_without_a_monitored_start_only_the_final_numbers_are_given(tmp_path):
    summary = write_run(tmp_path / "run", [(40, 70.0)], {"raw_pixels": 80.0, "student": 70.0, "teacher": 69.0})
    assert knn_rise(summary) == ("k-NN top-1 (k=20, 2000 test images, 5000 as memory): student 70.00%; "
                                 "teacher 69.00%; raw pixels 80.00%")


def test_a_run_on_tar_shards_is_probed_on_its_own_k_nn_queries(tmp_path):
    output = tmp_path / "run"
    summary = write_run(output, [(40, 70.0)], {"raw_pixels": 80.0, "student": 70.0})
    shards = "/data/packed/shard-{000000..000003}.tar"
    config = resolve_config("default", [f"data={shards}", "knn_test_data=/data/photos", f"output_dir={output}"])
    lines = closing_notes(summary, config, "default", [f"data={shards}", "knn_test_data=/data/photos"])
    assert lines[-1] == (f"  lut linprobe --checkpoint {output}/checkpoint-last.pth --data '{shards}' "
                         "test_data=/data/photos   # linear probe of the student")
