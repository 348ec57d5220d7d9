"""`lut robustness` end to end: exact scores of known classifiers, the logits cache, one-line errors."""

import json

import pytest
import torch
from helpers import torchrun
from robustness_helpers import constant_classifier, write_image

from lut.cli import main
from lut.evaluation.linear_probe import LinearProbe
from lut.models.encoder import ViTEncoder
from lut.robustness.tables import subset_indices, subset_synsets


def run_lut(*arguments: str, capsys) -> tuple[int, str, str]:
    """`lut ARGUMENTS` in this process: exit code, stdout, stderr."""
    code = main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err

V2_FOLDERS = (("10", 2), ("2", 1))


@pytest.fixture(scope="module")
def v2_folder(tmp_path_factory):
    """ImageNet-V2's layout: folder `10` with two images, folder `2` with one."""
    root = tmp_path_factory.mktemp("imagenet_v2")
    for shade, (folder, count) in enumerate(V2_FOLDERS):
        for index in range(count):
            write_image(root / folder / f"{index}.jpeg", colour=(40 * index, 90 * shade, 200))
    return root


def test_v2_scores_folder_10_as_class_10_and_reuses_cached_logits(tmp_path, v2_folder, predicts_ten, capsys):
    arguments = ["robustness", "--checkpoint", str(predicts_ten), "--labels", "ten", "--benchmark",
                 f"imagenet-v2={v2_folder}", "--output", str(tmp_path / "out"), "--num-workers", "0"]
    code, _, error = run_lut(*arguments, capsys=capsys)
    assert code == 0, error
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["results"]["ten"]["benchmarks"]["imagenet-v2"] == {"top1": pytest.approx(200 / 3), "images": 3}
    assert (tmp_path / "out" / "table.md").read_text().splitlines()[2] == "| ten | 66.7 |"
    assert not (tmp_path / "out" / "curves.png").exists()  # no benchmark with factors
    cached = list((tmp_path / "out" / "logits").rglob("imagenet-v2-images-*.pth"))
    assert len(cached) == 1
    logits = torch.load(cached[0], weights_only=True)["logits"]
    assert logits.shape == (3, 1000) and (logits.argmax(dim=1) == 10).all()
    code, output, error = run_lut(*arguments, capsys=capsys)
    assert code == 0, error
    assert "imagenet-v2: logits of images read from the cache" in output


def test_occlusion_curves_and_two_checkpoints_in_one_table(tmp_path, predicts_ten, capsys):
    val = tmp_path / "val"
    write_image(val / "n01440764" / "a.JPEG")  # class 0
    write_image(val / "n01443537" / "b.JPEG")  # class 1
    predicts_one = constant_classifier(tmp_path / "one" / "model.pth", {1: 1.0})
    code, _, error = run_lut("robustness", "--checkpoint", str(predicts_ten), str(predicts_one), "--labels", "ten",
                             "one", "--benchmark", f"occlusion={val}", "--occlusion-hole", "8", "4", "--output",
                             str(tmp_path / "out"), "--num-workers", "0", "--no-cache", capsys=capsys)
    assert code == 0, error
    results = json.loads((tmp_path / "out" / "results.json").read_text())["results"]
    holes = results["one"]["benchmarks"]["occlusion"]["holes"]
    assert holes == [{"value": 8, "top1": 50.0}, {"value": 4, "top1": 50.0}]
    assert results["ten"]["benchmarks"]["occlusion"]["top1"] == 0.0
    assert (tmp_path / "out" / "table.md").read_text().splitlines()[:4] == [
        "| checkpoint | Cocc |", "|---|---:|", "| ten | 0.0 |", "| one | 50.0 |"]
    assert (tmp_path / "out" / "curves.png").stat().st_size > 0
    assert not (tmp_path / "out" / "logits").exists()


@pytest.mark.parametrize(("benchmark", "message"), [
    ("imagenet-v2={val}", "imagenet-v2: {val} is not in the benchmark's layout: expected folders named 0..999"),
    ("objectnet={val}", "objectnet: {val} is not in the benchmark's layout: expected images/<class folder>/"),
    ("imagenet-a={missing}", "imagenet-a: {missing} is not a folder"),
    ("imagenet-c={val}", "unknown benchmark 'imagenet-c'"),
    ("imagenet-a", "--benchmark imagenet-a needs the data's folder"),
])
def test_bad_benchmarks_get_one_line_and_exit_2(tmp_path, predicts_ten, benchmark, message, capsys):
    val = tmp_path / "val"
    write_image(val / "n01440764" / "a.JPEG")
    spec = benchmark.format(val=val, missing=tmp_path / "nowhere")
    code, _, error = run_lut("robustness", "--checkpoint", str(predicts_ten), "--benchmark", spec,
                             "--output", str(tmp_path / "out"), capsys=capsys)
    assert code == 2
    assert len(error.strip().splitlines()) == 1
    assert error.startswith("lut: error: " + message.format(val=val, missing=tmp_path / "nowhere"))


def test_a_classifier_without_1000_outputs_is_refused(tmp_path, v2_folder, capsys):
    ten_classes = constant_classifier(tmp_path / "ten_classes.pth", {3: 1.0}, num_classes=10)
    code, _, error = run_lut("robustness", "--checkpoint", str(ten_classes), "--benchmark",
                             f"imagenet-v2={v2_folder}", "--output", str(tmp_path / "out"), capsys=capsys)
    assert code == 2
    assert error.strip() == f"lut: error: {ten_classes} has 10 outputs; imagenet-v2 needs a 1000-class classifier"


def test_torchrun_shards_give_the_single_process_logits(tmp_path, v2_folder, capsys):
    model = constant_classifier(tmp_path / "random.pth", {})
    state = torch.load(model, weights_only=True)
    state["head.weight"] = torch.randn(1000, 192, generator=torch.Generator().manual_seed(0))
    torch.save(state, model)
    common = ["robustness", "--checkpoint", str(model), "--benchmark", f"imagenet-v2={v2_folder}", "--num-workers",
              "0", "--batch-size", "1"]
    code, _, error = run_lut(*common, "--output", str(tmp_path / "single"), capsys=capsys)
    assert code == 0, error
    sharded = torchrun("-m", "lut.cli", *common, "--output", str(tmp_path / "sharded"), "--device", "cpu")
    assert sharded.returncode == 0, sharded.stderr
    files = [next((tmp_path / run / "logits").rglob("*.pth")) for run in ("single", "sharded")]
    single_logits, sharded_logits = (torch.load(file, weights_only=True)["logits"] for file in files)
    assert sharded_logits.shape == (3, 1000)
    assert torch.allclose(single_logits, sharded_logits, atol=1e-5)
    assert not torch.allclose(single_logits[0], single_logits[2])  # the images' logits differ


def test_another_protocol_is_scored_from_the_cached_logits(tmp_path, capsys):
    wnid, index = subset_synsets("imagenet-a")[3], subset_indices("imagenet-a")[3]
    write_image(tmp_path / "a" / wnid / "x.jpg")
    model = constant_classifier(tmp_path / "model.pth", {500: 9.0, index: 5.0})  # 500 is not an A class
    arguments = ["robustness", "--checkpoint", str(model), "--labels", "model", "--benchmark",
                 f"imagenet-a={tmp_path / 'a'}", "--output", str(tmp_path / "out"), "--num-workers", "0"]
    assert run_lut(*arguments, capsys=capsys)[0] == 0
    code, output, _ = run_lut(*arguments, "--subset-protocol", "membership", capsys=capsys)
    assert code == 0 and "imagenet-a: logits of images read from the cache" in output
    scores = json.loads((tmp_path / "out" / "results.json").read_text())["results"]["model"]
    assert scores["benchmarks"]["imagenet-a"]["top1"] == 0.0
    assert scores["benchmarks"]["imagenet-a"]["top1_mask"] == 100.0


def test_si_score_without_metadata_says_so_and_draws_no_curves(tmp_path, predicts_ten, capsys):
    """SI-Score as the TensorFlow Datasets zip extracts (class folders only): top-1, the note printed, no curves."""
    folder = tmp_path / "object_size"
    write_image(folder / "koala" / "0.jpg")
    write_image(folder / "lemon" / "1.jpg")
    code, output, error = run_lut("robustness", "--checkpoint", str(predicts_ten), "--labels", "ten", "--benchmark",
                                  f"si-score-size={folder}", "--output", str(tmp_path / "out"), "--num-workers", "0",
                                  capsys=capsys)
    assert code == 0, error
    assert output.count(f"si-score-size: no metadata.csv in {folder}") == 1
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["results"]["ten"]["benchmarks"]["si-score-size"] == {"top1": 0.0, "images": 2}
    assert not (tmp_path / "out" / "curves.png").exists()


def test_a_linear_probe_is_scored_like_a_fine_tuned_classifier(tmp_path, v2_folder, capsys):
    encoder = ViTEncoder(16, 8, 3, 192, 1, 3)
    source = tmp_path / "pretrain.pth"
    torch.save({"model": encoder.state_dict(), "model_ema": encoder.state_dict(), "lut_version": "0",
                "config": {"mask_ratio": 0.75}}, source)
    probe = LinearProbe(encoder, num_classes=1000, pools=("cls",))
    with torch.no_grad():  # logits independent of the image: class 10 first, as predicts_ten's
        probe.heads["cls"][1].weight.zero_()
        probe.heads["cls"][1].bias.zero_()
        probe.heads["cls"][1].bias[10] = 2.0
    path = tmp_path / "linprobe.pth"
    torch.save({"model": probe.heads.state_dict(), "encoder_digest": "x",
                "config": {"checkpoint": str(source), "weights": "auto", "arch": "", "img_size": 0}}, path)
    code, _, error = run_lut("robustness", "--checkpoint", str(path), "--labels", "probe", "--benchmark",
                             f"imagenet-v2={v2_folder}", "--output", str(tmp_path / "out"), "--num-workers", "0",
                             capsys=capsys)
    assert code == 0, error
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["results"]["probe"]["benchmarks"]["imagenet-v2"] == {"top1": pytest.approx(200 / 3), "images": 3}
