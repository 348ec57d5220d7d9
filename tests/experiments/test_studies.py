"""The studies end to end on a tiny setting: runs launched as processes, reused, scored and tabulated."""

import json

import pytest
import torch
import yaml

from lut.cli import main
from lut.errors import UsageError
from lut.experiments import plan, studies
from lut.experiments.plan import RunSpec, base_run, run_config
from lut.experiments.scale import FrozenEvalSettings, load_scale, scale_names
from lut.experiments.scoring import FrozenScorer
from lut.interchange import load_encoder
from lut.runtime.seeding import seed_everything
from lut.training.pretrain import pretrain
from lut.training.pretrain_models import build_student


@pytest.mark.slow
def test_compare_trains_scores_and_reuses_runs(tiny_scale, tmp_path, image_folder):
    root, results_path, markdown = tmp_path / "runs", tmp_path / "compare.json", tmp_path / "REPRO.md"
    markdown.write_text("# Results\n")
    command = ["experiment", "compare", str(tiny_scale), "--root", str(root), "--results", str(results_path),
               "--markdown", str(markdown)]
    assert main(command) == 0
    results = json.loads(results_path.read_text())
    assert [(row["encoder"], row.get("budget")) for row in results["rows"]] == [
        ("raw pixels", None), ("random init", None), ("MAE", "same epochs"), ("LUT student", "same epochs"),
        ("LUT teacher (EMA)", "same epochs"), ("MAE", "same wall-clock")]
    assert [len(row["runs"]) for row in results["rows"]] == [1, 2, 2, 2, 2, 2]
    lut_seconds = [run["train_seconds"] for run in results["rows"][3]["runs"]]
    mae_seconds = [run["train_seconds"] for run in results["rows"][2]["runs"]]
    ratio = min(lut_seconds) / min(mae_seconds)
    assert results["time_ratio"] == pytest.approx(ratio)
    assert results["same_time_epochs"] == max(1, round(ratio))
    assert {run["epochs"] for run in results["rows"][5]["runs"]} == {results["same_time_epochs"]}

    # Scores are those of the encoders themselves, on the same fixed splits.
    scale = load_scale(str(tiny_scale))
    config = run_config(scale, base_run("lut", 1), str(root / "lut_seed1"))
    scorer = FrozenScorer(scale.evaluation, config.img_size, config.mean, config.std)
    student, _ = load_encoder(root / "lut_seed1" / "checkpoint-last.pth", "student")
    teacher, _ = load_encoder(root / "lut_seed1" / "checkpoint-last.pth", "teacher")
    seed_everything(1)
    initial = build_student(config).encoder
    for row, encoder in ((3, student), (4, teacher), (1, initial)):
        expected = scorer.score(encoder)
        assert results["rows"][row]["runs"][1]["knn_top1"] == pytest.approx(expected["knn_top1"])
        assert results["rows"][row]["runs"][1]["probe_top1"] == pytest.approx(expected["probe_top1"])
    assert results["rows"][0]["runs"][0]["test_samples"] == 8  # 20 % of 40 images held out

    # The process was given exactly the resolved config: an in-process run gives the same weights.
    direct = pretrain(run_config(scale, base_run("lut", 1), str(tmp_path / "direct")))
    launched = torch.load(root / "lut_seed1" / "checkpoint-last.pth", weights_only=True)
    in_process = torch.load(direct["checkpoint"], weights_only=True)
    assert all(torch.equal(launched["model"][key], in_process["model"][key]) for key in in_process["model"])

    # The table block went into the markdown file, and a second call trains nothing.
    text = markdown.read_text()
    assert text.startswith("# Results\n") and f"<!-- BEGIN compare {results_path.as_posix()} -->" in text
    assert "| LUT student | same epochs | 1 |" in text
    log = (root / "lut_seed0" / "log.txt").read_text()
    assert main(command) == 0
    assert (root / "lut_seed0" / "log.txt").read_text() == log
    assert markdown.read_text().count("<!-- BEGIN compare") == 1


def test_ablations_run_each_setting_once(tiny_scale, tmp_path, monkeypatch):
    chosen = tuple(a for a in plan.ABLATIONS if a.table == "4e")[:2]  # target_mask_ratio 0 (default) and 0.5
    monkeypatch.setattr(studies, "ABLATIONS", chosen)
    root = tmp_path / "runs"
    assert main(["experiment", "ablations", str(tiny_scale), "seeds=[1]", "--root", str(root)]) == 2  # not a key
    scale = load_scale(str(tiny_scale))
    results = studies.ablations(scale, root)
    assert [(row["key"], row["value"], row["default"]) for row in results["rows"]] == [
        ("target_mask_ratio", 0.0, True), ("target_mask_ratio", 0.5, False)]
    runs = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert runs == ["lut_seed0", "lut_target_mask_ratio-0p5_seed0"]
    changed = yaml.safe_load((root / "lut_target_mask_ratio-0p5_seed0" / "config.yaml").read_text())
    default = yaml.safe_load((root / "lut_seed0" / "config.yaml").read_text())
    assert {k for k in default if default[k] != changed[k]} == {"target_mask_ratio", "output_dir"}


def test_every_ablation_differs_from_its_base_run_in_its_key_only(tiny_scale):
    scale = load_scale(str(tiny_scale))
    names = set()
    for ablation in plan.ABLATIONS:
        spec = plan.ablation_run(ablation, 0)
        names.add(spec.name)
        config = run_config(scale, spec, "out").__dict__
        base = run_config(scale, base_run(ablation.method, 0), "out").__dict__
        differing = {key for key in base if base[key] != config[key]}
        assert differing == (set() if ablation.default else {ablation.key}), ablation
        # crop=auto is SRC for LUT and RRC for MAE: the default crop rows are the base runs.
        expected = "auto" if ablation.default and ablation.key == "crop" else ablation.value
        assert config[ablation.key] == expected
    assert len(names) == 12  # 10 non-default rows + one default run per method


def test_a_run_folder_with_other_settings_is_refused(tiny_scale, tmp_path):
    scale = load_scale(str(tiny_scale))
    from lut.experiments.launcher import prepare_run

    prepare_run(scale, base_run("lut", 0), tmp_path)
    other = load_scale(str(tiny_scale), {"mask_ratio": 0.5})
    with pytest.raises(UsageError, match="mask_ratio"):
        prepare_run(other, base_run("lut", 0), tmp_path)
    # A key the run's config.yaml lacks (written before the key existed) counts at its default.
    path = tmp_path / "lut_seed0" / "config.yaml"
    path.write_text(path.read_text().replace("mim: mae\n", ""))
    assert "mim:" not in path.read_text()
    prepare_run(scale, base_run("lut", 0), tmp_path)
    with pytest.raises(UsageError, match="unknown config key 'mask_rati'"):
        prepare_run(load_scale(str(tiny_scale), {"mask_rati": 0.5}), RunSpec("x", "lut", 0), tmp_path)


def test_a_run_folder_matches_the_settings_its_run_recorded_as_they_ran(tiny_scale, tmp_path):
    from lut.experiments.launcher import prepare_run

    scale = load_scale(str(tiny_scale), {"patch_size": 0, "precision": "auto"})
    prepare_run(scale, base_run("lut", 0), tmp_path)
    path = tmp_path / "lut_seed0" / "config.yaml"
    claimed = yaml.safe_load(path.read_text())
    assert (claimed["recipe"], claimed["patch_size"], claimed["precision"]) == (scale.recipe, 0, "auto")
    ran = {**claimed, "patch_size": 16, "precision": "fp32"}  # the preset's patch; no native bf16 in the tests
    path.write_text(yaml.safe_dump(ran))
    prepare_run(scale, base_run("lut", 0), tmp_path)
    del ran["recipe"]  # as runs wrote it before the recipe was recorded
    path.write_text(yaml.safe_dump(ran))
    prepare_run(scale, base_run("lut", 0), tmp_path)


def test_scale_errors_are_clear(tmp_path):
    with pytest.raises(UsageError, match="fashion_mnist_cpu"):
        load_scale("no_such_scale")
    (tmp_path / "bad.yaml").write_text("evaluation: {k: 3, neighbours: 4}\n")
    with pytest.raises(UsageError, match="neighbours"):
        load_scale(str(tmp_path / "bad.yaml"))
    assert load_scale("fashion_mnist_cpu").evaluation == FrozenEvalSettings(
        data="fashion-mnist", train_samples=10000, test_samples=0, k=20, batch_size=256, device="cpu")


@pytest.mark.parametrize(("evaluation", "message"), [
    ("{k: 0}", "scale bad: evaluation: config key k: 0 must be at least 1"),
    ("{train_samples: -5}", "scale bad: evaluation: config key train_samples: -5 must be at least 0"),
    ("{batch_size: 0}", "scale bad: evaluation: config key batch_size: 0 must be at least 1"),
    ("{device: banana}", "scale bad: evaluation: device 'banana' is not one of auto, cpu, cuda, cuda:N"),
])
def test_bad_evaluation_settings_are_refused_when_the_scale_loads(tmp_path, evaluation, message):
    (tmp_path / "bad.yaml").write_text(f"evaluation: {evaluation}\n")  # before any pre-training can start
    with pytest.raises(UsageError) as error:
        load_scale(str(tmp_path / "bad.yaml"))
    assert str(error.value) == message.replace("scale bad", f"scale {tmp_path / 'bad.yaml'}")


@pytest.mark.parametrize("name", scale_names())
def test_every_run_of_the_bundled_scales_is_a_valid_config(name):
    scale = load_scale(name)
    specs = [base_run(method, seed) for method in ("lut", "mae") for seed in scale.seeds]
    specs += [plan.ablation_run(ablation, scale.seeds[0]) for ablation in plan.ABLATIONS]
    configs = [run_config(scale, spec, "out") for spec in specs]
    assert {config.model for config in configs} == {"lut_vit_tiny_patch16", "mae_vit_tiny_patch16"}
    assert {config.img_size for config in configs} == {32}
