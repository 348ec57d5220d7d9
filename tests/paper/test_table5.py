"""Table 5: the robustness suite on each fine-tuned encoder, sharing table 1's pre-trainings and fine-tunings;
its results read into the table beside the paper's."""

import dataclasses
import json

import pytest

from lut.cli import main
from lut.errors import UsageError
from lut.launch.graph import Graph, run_local
from lut.paper.plan import build_graph
from lut.paper.report import write_table
from lut.paper.robustness import SUITES
from lut.paper.scale import Stage, load_scale
from lut.paper.tables import TABLES, paper_numbers, table_at

SHARED = ["pretrain-lut-seed0", "pretrain-mae-seed0", "finetune-lut-seed0", "finetune-mae-seed0"]
PAPER_DATA = {"imagenet": "/d/in1k", "imagenet_v2": "/d/v2", "imagenet_a": "/d/a", "imagenet_o": "/d/o",
              "imagenet_sketch": "/d/sketch", "imagenet_r": "/d/r", "objectnet": "/d/objectnet-1.0",
              "si_score": "/d/si"}


def test_tiny_graph_is_table1s_pretrainings_and_finetunings_then_one_robustness_run_per_encoder(tmp_path):
    graph = build_graph(TABLES["table5"], load_scale("tiny"), tmp_path, {}, {})
    assert [node.name for node in graph.nodes] == [*SHARED, "robustness-lut-seed0", "robustness-mae-seed0"]
    table1 = build_graph(TABLES["table1"], load_scale("tiny"), tmp_path, {}, {})
    for name in SHARED:  # the same runs: `lut paper all` runs them once
        assert graph.node(name) == table1.node(name)
    runs = tmp_path / "runs"
    node = graph.node("robustness-mae-seed0")
    assert node.command == (
        "robustness", "--checkpoint", f"{runs}/finetune-mae-seed0/checkpoint-last.pth", "--labels", "mae",
        "--output", f"{runs}/robustness-mae-seed0", "--benchmark", "fashion-mnist", "max_images=256",
        "batch_size=256", "num_workers=0", "device=cpu", "precision=fp32", "seed=0")
    assert (node.after, node.done_file, node.output) == (("finetune-mae-seed0",), "results.json",
                                                          runs / "robustness-mae-seed0")


def test_paper_graph_runs_the_twelve_benchmarks_from_their_data_settings(tmp_path, capsys):
    graph = build_graph(TABLES["table5"], load_scale("paper"), tmp_path, {}, PAPER_DATA)
    assert [node.name for node in graph.nodes] == [*SHARED, "robustness-lut-seed0", "robustness-mae-seed0"]
    command = graph.node("robustness-lut-seed0").command
    assert command[command.index("--benchmark") + 1:] == (
        "imagenet-val=/d/in1k", "imagenet-v2=/d/v2", "imagenet-real=/d/in1k", "imagenet-a=/d/a", "imagenet-o=/d/o",
        "imagenet-sketch=/d/sketch", "imagenet-r=/d/r", "occlusion=/d/in1k", "objectnet=/d/objectnet-1.0",
        "si-score-size=/d/si/object_size", "si-score-location=/d/si/object_location",
        "si-score-rotation=/d/si/rotation", "seed=0")
    assert graph.node("finetune-lut-seed0").command[:3] == ("finetune", "--recipe", "vit_base")
    # ViT-B/16 forward over 278,889 images at 23.1 TFLOP/s: about 0.118 GPU-hours.
    assert graph.node("robustness-lut-seed0").gpu_hours == pytest.approx(0.1178, abs=5e-5)
    data = [f"data.{name}={path}" for name, path in PAPER_DATA.items()]
    assert main(["paper", "table5", "--scale", "paper", "--root", str(tmp_path), "--dry-run", *data]) == 0
    # 3,809 + 1,434 pre-training, 2 x 162.3 fine-tuning, 2 x 0.118 robustness GPU-hours
    assert capsys.readouterr().out.splitlines()[-1] == "6 jobs (6 to run), 5568 GPU-hours estimated (5568 to run)"
    with pytest.raises(UsageError, match="give data.imagenet_a=PATH"):
        build_graph(TABLES["table5"], load_scale("paper"), tmp_path, {},
                    {key: value for key, value in PAPER_DATA.items() if key != "imagenet_a"})


def test_an_extra_encoder_is_fine_tuned_then_tested(tmp_path):
    checkpoint = tmp_path / "dino.pth"
    checkpoint.write_bytes(b"")
    graph = build_graph(TABLES["table5"], load_scale("tiny"), tmp_path, {"dino": str(checkpoint)}, {})
    names = [node.name for node in graph.nodes]
    assert names == [*SHARED[:2], "finetune-lut-seed0", "finetune-mae-seed0", "finetune-dino-seed0",
                     "robustness-lut-seed0", "robustness-mae-seed0", "robustness-dino-seed0"]
    assert graph.node("finetune-dino-seed0").after == ()
    assert graph.node("robustness-dino-seed0").after == ("finetune-dino-seed0",)


def test_all_holds_every_table_and_runs_the_shared_nodes_once(tmp_path, capsys):
    assert main(["paper", "all", "--scale", "tiny", "--root", str(tmp_path), "--dry-run"]) == 0
    printed = capsys.readouterr().out.splitlines()
    names = [line.split(" [")[0] for line in printed if not line.startswith(" ") and " [" in line]
    scale = load_scale("tiny")
    expected = {node.name for name in TABLES for node in build_graph(table_at(name, scale), scale, tmp_path, {},
                                                                      {}).nodes}
    # table1 8; table4 36, of which its LUT and MAE rows' 6 are table1's at tiny (no table_pretrain there); table5's
    # 2 robustness runs; the 6 transfer runs tables 2 and 3 share at tiny
    assert len(names) == len(set(names)) == len(expected) == 8 + 30 + 2 + 6
    assert set(names) == expected and printed[-1].startswith("46 jobs (46 to run), ")
    assert {"pretrain-lut-seed0", "finetune-mae-seed0", "pretrain-lut_crop-rrc-seed0"} <= set(names)
    assert not any(".t4" in name or "t4." in name for name in names)


@pytest.mark.parametrize(("settings", "message"), [
    ({"benchmark": ["fashion-mnist"]}, "the robustness stage sets benchmark, which the graph gives each run"),
    ({"max_image": 5}, "unknown config key 'max_image'"),
])
def test_bad_robustness_settings_stop_the_table_before_anything_runs(tmp_path, settings, message):
    scale = load_scale("tiny")
    stage = dataclasses.replace(scale.stages["robustness"], settings=settings)
    scale = dataclasses.replace(scale, stages={**scale.stages, "robustness": stage})
    with pytest.raises(UsageError, match=message):
        build_graph(TABLES["table5"], scale, tmp_path, {}, {})


def test_an_unknown_suite_names_the_known_ones(tmp_path):
    scale = load_scale("tiny")
    scale = dataclasses.replace(scale, stages={**scale.stages, "robustness": Stage("cifar")})
    with pytest.raises(UsageError, match="names a benchmark suite: imagenet, fashion-mnist \\(not 'cifar'\\)"):
        build_graph(TABLES["table5"], scale, tmp_path, {}, {})


def test_the_papers_table5_has_every_method_and_column():
    numbers = paper_numbers("table5")
    assert numbers["columns"] == [column.paper_column for column in SUITES["imagenet"].columns]
    assert set(numbers["vit_base"]) == {"dino", "ibot", "mae", "data2vec", "lut"}
    assert numbers["vit_base"]["lut"] == [84.2, 74.2, 88.6, 42.5, 64.1, 38.2, 52.1, 79.2, 38.9, 59.8, 40.7, 44.9]
    assert numbers["vit_base"]["data2vec"][4] == 62.2 and numbers["vit_base"]["mae"][4] == 65.4


def test_robustness_results_are_read_into_the_table_beside_the_papers(tmp_path, stand_in):
    scale = dataclasses.replace(load_scale("tiny"), seeds=(0, 1))
    graph = build_graph(TABLES["table5"], scale, tmp_path, {}, {})
    graph = Graph(graph.root, graph.nodes, "stand_in_lut")
    report = run_local(graph, jobs=2)
    assert len(report.ran) == 12 and report.failed == {}
    paths = write_table(TABLES["table5"], scale, graph, [])
    results = json.loads(paths["json"].read_text())
    assert results["evaluations"] == ["FMNIST", "Occ (mean of 3 holes)", "Rot (mean)", "Size (mean)", "Loc (mean)"]
    lut = results["rows"]["lut"]
    assert lut["FMNIST"]["values"] == [60.0, 61.0] and lut["FMNIST"]["mean"] == 60.5 and lut["FMNIST"]["paper"] == 84.2
    assert lut["Occ (mean of 3 holes)"]["values"] == [30.0, 33.0] and lut["Occ (mean of 3 holes)"]["paper"] == 79.2
    assert results["rows"]["mae"]["Loc (mean)"] == {"values": [15.0, 15.0], "seeds": [0, 1], "mean": 15.0,
                                                    "std": 0.0, "paper": 38.7}
    table = paths["md"].read_text().splitlines()
    assert table[4:9] == [
        "| encoder | FMNIST | Occ (mean of 3 holes) | Rot (mean) | Size (mean) | Loc (mean) |",
        "|---|---:|---:|---:|---:|---:|",
        "| lut | 60.5 ± 0.7 (2 seeds) | 31.5 ± 2.1 (2 seeds) | 20.0 ± 0.0 (2 seeds) | 25.0 ± 0.0 (2 seeds) | "
        "15.0 ± 0.0 (2 seeds) |",
        "| lut: paper (vit_base) | 84.2 | 79.2 | 44.9 | 59.8 | 40.7 |",
        "| mae | 60.5 ± 0.7 (2 seeds) | 31.5 ± 2.1 (2 seeds) | 20.0 ± 0.0 (2 seeds) | 25.0 ± 0.0 (2 seeds) | "
        "15.0 ± 0.0 (2 seeds) |"]
    assert "| data2vec | 84.1 | 74.2 | 88.5 | 41.6 | 62.2 | 38.7 | 53.0 | 79.1 | 40.3 | 57.9 | 38.6 | 43.8 |" in table
    assert paths["png"].stat().st_size > 1000


@pytest.mark.slow
def test_real_robustness_runs_of_known_classifiers_fill_the_table(tmp_path):
    from robustness.robustness_helpers import constant_classifier

    from lut.data.sources import FashionMNIST
    from lut.robustness.benchmarks.base import subsample

    scale = load_scale("tiny")
    stage = dataclasses.replace(scale.stages["robustness"], settings={
        **scale.stages["robustness"].settings, "max_images": 40})
    scale = dataclasses.replace(scale, stages={**scale.stages, "robustness": stage})
    graph = build_graph(TABLES["table5"], scale, tmp_path, {}, {})
    # The pre-trainings and fine-tunings as finished: each fine-tuning's classifier always answers one class.
    for node, answer in [*((name, None) for name in SHARED[:2]), ("finetune-lut-seed0", 3), ("finetune-mae-seed0", 7)]:
        folder = graph.node(node).output
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text("{}")
        if answer is not None:
            constant_classifier(folder / "checkpoint-last.pth", {answer: 1.0}, num_classes=10)
    report = run_local(graph, jobs=2)
    assert report.reused == SHARED and sorted(report.ran) == ["robustness-lut-seed0", "robustness-mae-seed0"]
    source = FashionMNIST("test")
    labels = [source[index][1] for index in subsample(list(range(len(source))), 40, 0)]
    assert (labels.count(3), labels.count(7)) == (4, 6)
    results = json.loads(write_table(TABLES["table5"], scale, graph, [])["json"].read_text())
    for encoder, answer in (("lut", 3), ("mae", 7)):  # every shift keeps the one answer: the class's share
        share = 100 * labels.count(answer) / 40
        assert [entry["mean"] for entry in results["rows"][encoder].values()] == pytest.approx([share] * 5)


def test_a_run_made_with_another_suite_leaves_the_columns_it_lacks_empty(tmp_path):
    from lut.paper.robustness import read_columns

    path = tmp_path / "results.json"
    path.write_text(json.dumps({"results": {"lut": {"benchmarks": {"imagenet-val": {"top1": 71.5},
                                                                   "occlusion": {"top1": 40.25}}}}}))
    assert read_columns(path, "lut", SUITES["imagenet"].columns) == {"IN-1k": 71.5, "Cocc": 40.25}
    assert read_columns(path, "lut", SUITES["fashion-mnist"].columns) == {}
    assert read_columns(path, "mae", SUITES["imagenet"].columns) == {}
    assert read_columns(tmp_path / "missing.json", "lut", SUITES["imagenet"].columns) is None
