"""Tables 2 and 3: their graphs (node names, shared pre-trainings, the transfer grids, the cost), a run on the
stand-in that writes the tables, and a real run of the smallest graph of table 3 at the tiny scale."""

import dataclasses
import json
from importlib import resources

import pytest
from helpers import stand_in_sbatch

from lut.cli import main
from lut.launch.graph import Graph, run_local, submit_graph
from lut.launch.jobs import LaunchSettings
from lut.paper.plan import build_graph
from lut.paper.report import write_table
from lut.paper.scale import load_scale
from lut.paper.tables import TABLES

TINY_GRIDS = [f"transfer-{method}-fashion-mnist-seed0-{part}" for method in ("lut", "mae")
              for part in ("point0", "point1", "summary")]
PRETRAININGS = ["pretrain-lut-seed0", "pretrain-mae-seed0"]
INAT = ("inat2018", "inat2019", "inat2021_mini")
FGVC = ("aircraft", "nabirds", "cub200", "cifar10", "cifar100", "stanford_dogs", "flowers102")


def paper_grid_names(data_sets: tuple[str, ...]) -> list[str]:
    return [f"transfer-{method}-{data_set}-seed0-{part}" for method in ("lut", "mae") for data_set in data_sets
            for part in (*(f"point{index}" for index in range(9)), "summary")]


@pytest.mark.parametrize("table", ["table2", "table3"])
def test_tiny_graph_is_the_two_pretrainings_then_a_two_point_grid_per_encoder(table, tmp_path):
    graph = build_graph(TABLES[table], load_scale("tiny"), tmp_path, {}, {})
    assert [node.name for node in graph.nodes] == PRETRAININGS + TINY_GRIDS
    runs = tmp_path / "runs"
    grid = runs / "transfer-lut-fashion-mnist-seed0"
    command = ("transfer", "--recipe", "small", "--checkpoint", f"{runs}/pretrain-lut-seed0/checkpoint-last.pth",
               "--labels", "lut", "--data", "fashion-mnist", "--output", str(grid), "--grid", "lr=0.001,0.003",
               "--grid", "weight_decay=0.05", "epochs=1", "warmup_epochs=0", "train_samples=256", "test_samples=256",
               "batch_size=64", "num_workers=0", "device=cpu", "seed=0")
    point1, summary = graph.node(TINY_GRIDS[1]), graph.node(TINY_GRIDS[2])
    assert point1.command == (*command, "--point", "1") and summary.command == command
    assert (point1.output, point1.done_file) == (grid / "lut" / "lr=0.003,weight_decay=0.05", "point.json")
    assert (summary.output, summary.done_file) == (grid, "results.json")
    assert point1.after == ("pretrain-lut-seed0",) and summary.after == tuple(TINY_GRIDS[:2])
    assert [node.array for node in graph.nodes] == ["pretrain"] * 2 + [
        array for method in ("lut", "mae") for array in [f"transfer-{method}-fashion-mnist-seed0-points"] * 2 + [""]]


def test_transfer_tables_share_their_pretrainings_with_table1_and_their_grids_with_each_other(tmp_path):
    scale = load_scale("tiny")
    table1, table2, table3 = (build_graph(TABLES[name], scale, tmp_path, {}, {}) for name in
                              ("table1", "table2", "table3"))
    for name in PRETRAININGS:
        assert table3.node(name) == table1.node(name) == table2.node(name)
    assert table2.nodes == table3.nodes  # at tiny both tables transfer to Fashion-MNIST


@pytest.mark.parametrize(("table", "data_sets", "hours"), [("table2", INAT, 7986), ("table3", FGVC, 5576)])
def test_paper_graph_is_a_nine_point_grid_per_encoder_and_data_set(table, data_sets, hours, tmp_path, capsys):
    graph = build_graph(TABLES[table], load_scale("paper"), tmp_path, {}, {}, dry_run=True)
    assert [node.name for node in graph.nodes] == PRETRAININGS + paper_grid_names(data_sets)
    point = graph.node(f"transfer-lut-{data_sets[0]}-seed0-point0")
    assert point.command == ("transfer", "--recipe", "vit_base", "--checkpoint",
                             f"{tmp_path}/runs/pretrain-lut-seed0/checkpoint-last.pth", "--labels", "lut", "--data",
                             data_sets[0], "--output", f"{tmp_path}/runs/transfer-lut-{data_sets[0]}-seed0",
                             "data_root=<data.transfer>", "seed=0", "--point", "0")
    assert point.output.name == "lr=3e-06,weight_decay=0.01"
    if table == "table2":
        # ViT-B/16 at 224 px: 17.56 GMACs forward, x 3 (forward + backward) x 2 FLOPs, over 100 epochs of
        # iNaturalist 2018's 437,513 training images, at 23.1 TFLOP/s: 55.44 GPU-hours.
        assert point.gpu_hours == pytest.approx(55.44, abs=0.01)
    assert main(["paper", table, "--scale", "paper", "--root", str(tmp_path), "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"{len(graph.nodes)} jobs ({len(graph.nodes)} to run), {hours} GPU-hours estimated ({hours} to run)")
    assert len(graph.nodes) == 2 + 2 * len(data_sets) * 10


def test_paper_scale_reads_the_transfer_sets_from_data_transfer(tmp_path, capsys):
    assert main(["paper", "table3", "--scale", "paper", "--root", str(tmp_path), "data.imagenet=/in1k"]) == 2
    assert capsys.readouterr().err == "lut: error: this scale reads the transfer data: give data.transfer=PATH\n"


def test_a_scale_without_a_transfer_stage_cannot_run_table3(tmp_path, capsys):
    scale = tmp_path / "mine.yaml"
    text = (resources.files("lut.paper.scales") / "tiny.yaml").read_text()
    scale.write_text(text.split("  transfer:")[0])
    assert main(["paper", "table1", "--scale", str(scale), "--root", str(tmp_path), "--dry-run"]) == 0
    capsys.readouterr()
    assert main(["paper", "table3", "--scale", str(scale), "--root", str(tmp_path), "--dry-run"]) == 2
    assert capsys.readouterr().err == ("lut: error: scale mine has no transfer stage: table3 needs one (see the "
                                       "bundled scales)\n")


def test_stand_in_run_writes_best_and_mean_std_over_the_grid_beside_the_paper(tmp_path, stand_in):
    scale = load_scale("tiny")
    built = build_graph(TABLES["table3"], scale, tmp_path, {"released": str(tmp_path / "released.pth")}, {})
    graph = Graph(built.root, built.nodes, "stand_in_transfer")
    report = run_local(graph, jobs=2, say=lambda line: None)
    assert len(report.ran) == 2 + 3 * 3 and not report.failed
    calls = stand_in.read_text().splitlines()
    assert sorted(calls) == sorted(["pretrain-lut-seed0", "pretrain-mae-seed0", *(
        f"transfer {encoder} {part}" for encoder in ("lut", "mae", "released") for part in ("point 0", "point 1",
                                                                                            "summary"))])
    paths = write_table(TABLES["table3"], scale, graph, ["released"])
    results = json.loads(paths["json"].read_text())
    # Points score 10 and 15 on test, 20 and 19 on validation: best 15, mean 12.5, std 2.5, point 0 selected.
    expected = {"best": 15.0, "mean": 12.5, "std": 2.5, "selected_test": 10.0, "seeds": [0], "paper": None}
    assert results["rows"] == {encoder: {"fashion-mnist": expected} for encoder in ("lut", "mae", "released")}
    assert results["paper_rows"]["lut"]["aircraft"] == [89.2, 88.3, 0.9]
    markdown = paths["md"].read_text().splitlines()
    assert "| lut | 15.00 (12.50 ± 2.50) | - |" in markdown
    assert "| lut | 89.2 (88.3 ± 0.9) | 86.0 (85.3 ± 0.6) | 86.5 (85.7 ± 0.6) | 99.1 (98.9 ± 0.1) | 91.0 (90.7 ± 0.4) "\
           "| 87.4 (86.7 ± 0.5) | 98.4 (98.2 ± 0.2) | 91.1 |" in markdown
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run_local(graph, jobs=2, say=lambda line: None).reused == [node.name for node in graph.nodes]


@pytest.mark.slow
def test_tiny_table3_runs_for_real_on_the_smallest_graph(tmp_path):
    """LUT's pre-training and its two-point grid only (4 of table 3's 8 runs), as `lut` processes."""
    scale = dataclasses.replace(load_scale("tiny"), jobs=2)
    built = build_graph(TABLES["table3"], scale, tmp_path, {}, {})
    graph = Graph(built.root, [node for node in built.nodes if "mae" not in node.name])
    report = run_local(graph, jobs=2, say=lambda line: None)
    assert sorted(report.ran) == sorted(node.name for node in graph.nodes) and not report.failed
    grid = tmp_path / "runs" / "transfer-lut-fashion-mnist-seed0"
    tests = [json.loads((grid / "lut" / name / "point.json").read_text())["test"]["top1"]
             for name in ("lr=0.001,weight_decay=0.05", "lr=0.003,weight_decay=0.05")]
    summary = json.loads((grid / "results.json").read_text())["encoders"][0]["summary"]
    assert summary["grid_max"] == max(tests) and summary["mean"] == pytest.approx(sum(tests) / 2)
    assert summary["std"] == pytest.approx(abs(tests[0] - tests[1]) / 2)
    # 256 test images: every score is a multiple of 1/256.
    assert all(score * 256 / 100 == pytest.approx(round(score * 256 / 100)) for score in tests)


def test_slurm_submits_each_grid_as_an_array_after_its_pretraining_and_the_summary_after_the_array(tmp_path,
                                                                                                   monkeypatch):
    stand_in_sbatch(tmp_path, monkeypatch)
    graph = build_graph(TABLES["table3"], load_scale("tiny"), tmp_path / "run", {}, {})
    report = submit_graph(graph, LaunchSettings(cluster="slurm", logs=tmp_path / "logs", gpus_per_node=1))
    assert report.submitted == {
        "pretrain-lut-seed0": "4242_0", "pretrain-mae-seed0": "4242_1",
        TINY_GRIDS[0]: "4243_0", TINY_GRIDS[1]: "4243_1", TINY_GRIDS[2]: "4244",
        TINY_GRIDS[3]: "4245_0", TINY_GRIDS[4]: "4245_1", TINY_GRIDS[5]: "4246"}
    scripts = [(tmp_path / f"script{index}.sh").read_text().splitlines() for index in range(5)]
    arrays = [next((line for line in script if line.startswith("#SBATCH --array")), None) for script in scripts]
    dependencies = [next((line for line in script if line.startswith("#SBATCH --dependency")), None)
                    for script in scripts]
    assert arrays == ["#SBATCH --array=0-1%2", "#SBATCH --array=0-1%2", None, "#SBATCH --array=0-1%2", None]
    assert dependencies == [None, "#SBATCH --dependency=afterok:4242", "#SBATCH --dependency=afterok:4243",
                            "#SBATCH --dependency=afterok:4242", "#SBATCH --dependency=afterok:4245"]
    assert [line for line in scripts[1] if line.startswith("#SBATCH --job-name")] == [
        "#SBATCH --job-name=transfer-lut-fashion-mnist-seed0-points"]
