"""Table 1's dry-run graph (names, dependencies, command lines) and its SLURM path: a stand-in sbatch (arrays,
afterok dependencies) and submitit's local executor."""

import pickle

import pytest
from helpers import stand_in_sbatch
from stand_in_graphs import stand_in_graph

from lut.cli import main
from lut.launch.graph import Graph, Node, submit_graph
from lut.launch.jobs import LaunchSettings

NODES = ["pretrain-lut-seed0", "pretrain-mae-seed0", "finetune-lut-seed0", "finetune-mae-seed0",
         "linprobe-lut-seed0", "linprobe-mae-seed0", "segment-lut-seed0", "segment-mae-seed0"]
PRETRAIN = ["train_samples=512", "epochs=1", "max_steps=8", "warmup_epochs=0", "final_knn=false",
            "knn_every_epochs=0", "num_visualize=0", "precision=fp32", "device=cpu", "log_every_steps=4"]


def test_dry_run_of_table1_names_each_node_its_dependencies_and_command(tmp_path, capsys):
    graph = stand_in_graph(tmp_path)
    assert [node.name for node in graph.nodes] == NODES
    assert [node.after for node in graph.nodes] == [(), (), *[(f"pretrain-{method}-seed0",) for method in
                                                              ("lut", "mae") * 3]]
    runs = tmp_path / "runs"
    assert graph.node("pretrain-mae-seed0").command == (
        "pretrain", "demo", *PRETRAIN, "model=mae_vit_tiny_patch16", "seed=0", f"output_dir={runs}/pretrain-mae-seed0")
    assert graph.node("segment-lut-seed0").command == (
        "segment", "train", "--recipe", "small", "--checkpoint", f"{runs}/pretrain-lut-seed0/checkpoint-last.pth",
        "--output", f"{runs}/segment-lut-seed0", "max_iters=8", "warmup_iters=2", "eval_every_iters=8",
        "val_samples=32", "num_workers=0", "device=cpu", "seed=0")
    assert [node.array for node in graph.nodes] == ["pretrain"] * 2 + [""] * 6
    assert main(["paper", "table1", "--scale", "tiny", "--root", str(tmp_path), "--dry-run"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("pretrain-lut-seed0 [waiting, ")
    assert printed[1] == f"  output {runs}/pretrain-lut-seed0"
    assert printed[2] == f"  lut pretrain demo {' '.join(PRETRAIN)} seed=0 output_dir={runs}/pretrain-lut-seed0"
    assert len(printed) == 25 and printed[-1].startswith("8 jobs (8 to run), ")
    assert not (tmp_path / "runs").exists()


def test_paper_scale_without_its_data_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["paper", "table1", "--scale", "paper", "--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "lut: error: this scale reads the imagenet data: give data.imagenet=PATH\n"


def test_slurm_submits_the_pretrainings_as_an_array_and_each_evaluation_after_its_pretraining(tmp_path,
                                                                                              monkeypatch):
    stand_in_sbatch(tmp_path, monkeypatch)
    graph = stand_in_graph(tmp_path / "run")
    report = submit_graph(graph, LaunchSettings(cluster="slurm", logs=tmp_path / "logs", gpus_per_node=1))
    assert report.submitted == {"pretrain-lut-seed0": "4242_0", "pretrain-mae-seed0": "4242_1",
                                **{name: str(4243 + index) for index, name in enumerate(NODES[2:])}}
    scripts = [(tmp_path / f"script{index}.sh").read_text().splitlines() for index in range(7)]
    assert "#SBATCH --array=0-1%2" in scripts[0] and not any("--dependency" in line for line in scripts[0])
    for script in scripts[1:]:
        assert "#SBATCH --dependency=afterok:4242" in script and "#SBATCH --kill-on-invalid-dep=yes" in script
        assert "#SBATCH --requeue" in script and not any("--array" in line for line in script)
    job = pickle.loads((tmp_path / "logs" / "4243_submitted.pkl").read_bytes()).function
    assert (job.command, job.module) == (list(graph.node("finetune-lut-seed0").command), "stand_in_lut")
    assert not (tmp_path / "run" / "runs").exists()  # nothing ran here


@pytest.mark.slow
def test_submitit_local_executor_runs_the_graph_and_stops_the_dependants_of_a_failure(tmp_path, stand_in,
                                                                                      monkeypatch):
    monkeypatch.setenv("STAND_IN_FAIL", "b")
    runs = tmp_path / "runs"
    graph = Graph(tmp_path, [
        Node("a", ("x", "seed=0", f"output_dir={runs}/a"), runs / "a", array="first"),
        Node("b", ("x", "seed=0", f"output_dir={runs}/b"), runs / "b", array="first"),
        Node("c", ("x", "seed=0", f"output_dir={runs}/c"), runs / "c", after=("a",)),
        Node("d", ("x", "seed=0", f"output_dir={runs}/d"), runs / "d", after=("a", "b")),
    ], "stand_in_lut")
    report = submit_graph(graph, LaunchSettings(cluster="local", logs=tmp_path / "logs"))
    assert sorted(report.ran) == ["a", "c"] and list(report.failed) == ["b"] and report.stopped == {"d": "b"}
    assert report.failed["b"].startswith("job ")
    assert "stand-in failure in b" in "".join(path.read_text() for path in (tmp_path / "logs").glob("*_log.*"))
    assert sorted(stand_in.read_text().split()) == ["a", "b", "c"]


def test_table4_pretrains_every_ablation_row_on_its_own_and_every_row_has_the_papers_numbers(tmp_path):
    from lut.paper.plan import build_graph
    from lut.paper.scale import load_scale
    from lut.paper.tables import TABLES, paper_numbers

    table = TABLES["table4"]
    rows = ["lut", "mae", "lut_bc_tokens-all", "lut_context_token-cls", "lut_supervision-tokenwise",
            "lut_supervision-both", "lut_bc_loss-infonce", "lut_bc_loss-smooth_l1", "lut_target_mask_ratio-0p5",
            "lut_target_mask_ratio-0p75", "lut_crop-rrc", "mae_crop-src"]
    assert [row.name for row in table.pretrainings] == rows
    graph = build_graph(table, load_scale("paper"), tmp_path, {}, {"imagenet": "/data/in1k"})
    names = [node.name for node in graph.nodes]
    assert len(names) == 36
    assert names == ([f"pretrain-t4.{row}-seed0" for row in rows] + [f"finetune-t4.{row}-seed0" for row in rows]
                     + [f"linprobe-t4.{row}-seed0" for row in rows])
    assert graph.node("pretrain-t4.lut_target_mask_ratio-0p5-seed0").command == (
        "pretrain", "lut_vit_base", "data=/data/in1k", "epochs=400", "target_mask_ratio=0.5", "seed=0",
        f"output_dir={tmp_path}/runs/pretrain-t4.lut_target_mask_ratio-0p5-seed0")
    assert graph.node("pretrain-t4.lut_supervision-both-seed0").command[:5] == (
        "pretrain", "lut_vit_base", "data=/data/in1k", "epochs=400", "supervision=both")
    assert graph.node("pretrain-t4.lut_context_token-cls-seed0").command[:5] == (
        "pretrain", "lut_vit_base", "data=/data/in1k", "epochs=400", "context_token=cls")
    assert graph.node("pretrain-t4.mae_crop-src-seed0").command[:5] == (
        "pretrain", "mae_vit_base", "data=/data/in1k", "epochs=400", "crop=src")
    numbers = paper_numbers("table4")
    assert numbers["finetune"]["vit_base"] == {
        "lut": 83.5, "mae": 82.8, "lut_bc_tokens-all": 83.0, "lut_context_token-cls": 83.2,
        "lut_supervision-tokenwise": 83.2, "lut_supervision-both": 83.1, "lut_bc_loss-infonce": 83.0,
        "lut_bc_loss-smooth_l1": 83.2, "lut_target_mask_ratio-0p5": 82.6, "lut_target_mask_ratio-0p75": 82.5,
        "lut_crop-rrc": 83.4, "mae_crop-src": 82.5}
    assert set(numbers["linprobe"]["vit_base"]) == set(rows)
    assert [numbers["linprobe"]["vit_base"][row] for row in rows[3:6]] == [71.0, 64.1, 66.6]


def test_table4_shares_table1s_runs_where_the_scale_gives_it_no_pre_training_of_its_own(tmp_path):
    from lut.paper.plan import build_graph
    from lut.paper.scale import load_scale
    from lut.paper.tables import table_at

    tiny, paper = load_scale("tiny"), load_scale("paper")
    assert table_at("table4", tiny).node_prefix == "" and table_at("table4", paper).node_prefix == "t4."
    table1 = {node.name: node for node in build_graph(table_at("table1", tiny), tiny, tmp_path, {}, {}).nodes}
    table4 = {node.name: node for node in build_graph(table_at("table4", tiny), tiny, tmp_path, {}, {}).nodes}
    shared = sorted(set(table1) & set(table4))
    assert shared == ["finetune-lut-seed0", "finetune-mae-seed0", "linprobe-lut-seed0", "linprobe-mae-seed0",
                      "pretrain-lut-seed0", "pretrain-mae-seed0"]
    assert all(table1[name] == table4[name] for name in shared)
    assert "pretrain-lut_crop-rrc-seed0" in table4
    at_paper = build_graph(table_at("table4", paper), paper, tmp_path, {}, {"imagenet": "/data/in1k"})
    assert "epochs=400" in at_paper.node("pretrain-t4.lut-seed0").command


def test_a_preempted_node_is_requeued_with_the_same_command_and_module(tmp_path):
    from lut.launch.jobs import TrainingJob

    settings = LaunchSettings(cluster="slurm", logs=tmp_path)
    job = TrainingJob(["finetune", "--output", "out", "seed=0"], settings, "stand_in_lut")
    requeued = job.checkpoint().function
    assert (requeued.command, requeued.settings, requeued.module) == (job.command, settings, "stand_in_lut")
    assert requeued.torchrun_command(0, "127.0.0.1")[-5:] == ["stand_in_lut", "finetune", "--output", "out", "seed=0"]
    assert pickle.loads(pickle.dumps(job)).module == "stand_in_lut"
