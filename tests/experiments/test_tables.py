"""Tables from results: mean ± sample std over seeds, bold defaults, markdown blocks replaced in place."""

from lut.experiments.tables import (
    ablation_table,
    compare_table,
    finetune_table,
    mean_std_cell,
    plot_results,
    results_table,
    update_markdown,
)

ENVIRONMENT = {"device": "cpu", "torch": "2", "date": "2026-11-26"}


def test_mean_and_sample_standard_deviation():
    assert mean_std_cell([80.0, 82.0]) == "81.00 ± 1.41"  # sqrt(2)
    assert mean_std_cell([1.0, 2.0, 3.0]) == "2.00 ± 1.00"
    assert mean_std_cell([83.02]) == "83.02"


def test_compare_table_rows():
    results = {
        "evaluation": {"k": 20},
        "rows": [
            {"encoder": "raw pixels", "runs": [{"knn_top1": 83.02, "probe_top1": 80.0}]},
            {"encoder": "LUT student", "budget": "same epochs", "runs": [
                {"epochs": 8, "train_seconds": 100.0, "knn_top1": 82.0, "probe_top1": 70.0},
                {"epochs": 8, "train_seconds": 110.0, "knn_top1": 84.0, "probe_top1": 72.0}]},
        ],
    }
    assert compare_table(results).splitlines()[2:] == [
        "| raw pixels |  |  |  | 83.02 | 80.00 | 1 |",
        "| LUT student | same epochs | 8 | 105 | 83.00 ± 1.41 | 71.00 ± 1.41 | 2 |",
    ]


def test_compare_caption_names_the_seeds_and_the_time_ratio():
    results = {"study": "compare", "description": "tiny", "environment": ENVIRONMENT, "evaluation": {"k": 20},
               "rows": [], "seeds": [0, 1, 2], "time_ratio": 3.354, "same_time_epochs": 7}
    assert results_table(results).endswith(
        "_tiny; cpu, torch 2, 2026-11-26; seeds 0, 1, 2; LUT/MAE training-time ratio 3.35 (fastest seeds) -> "
        "same wall-clock MAE 7 epochs._")
    results.update(seeds=[4], time_ratio=3.0, same_time_epochs=30)
    assert results_table(results).endswith(
        "_tiny; cpu, torch 2, 2026-11-26; one seed (4); LUT/MAE training-time ratio 3.00 -> same wall-clock MAE "
        "30 epochs._")


def test_ablation_table_marks_the_default(tmp_path):
    results = {
        "study": "ablations", "description": "tiny", "seeds": [0], "environment": ENVIRONMENT,
        "evaluation": {"k": 20},
        "rows": [
            {"table": "4d", "title": "BC loss", "method": "lut", "key": "bc_loss", "value": "cosine", "default": True,
             "runs": [{"knn_top1": 70.0, "probe_top1": 60.0, "train_seconds": 9.6}]},
            {"table": "4d", "title": "BC loss", "method": "lut", "key": "bc_loss", "value": "infonce",
             "default": False, "runs": [{"knn_top1": 69.5, "probe_top1": 61.25, "train_seconds": 10.0}]},
        ],
    }
    assert ablation_table(results).splitlines()[2:] == [
        "| 4d | BC loss | LUT | **bc_loss=cosine** (default) | 70.00 | 60.00 | 10 |",
        "| 4d | BC loss | LUT | bc_loss=infonce | 69.50 | 61.25 | 10 |",
    ]
    plot_results(results, tmp_path / "ablations.png")
    assert (tmp_path / "ablations.png").stat().st_size > 10_000


def test_markdown_block_is_appended_then_replaced(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text("# Title\n\ntext\n")
    update_markdown(path, "compare a.json", "| old |")
    expected = "# Title\n\ntext\n\n<!-- BEGIN compare a.json -->\n| old |\n<!-- END compare a.json -->\n"
    assert path.read_text() == expected
    path.write_text(path.read_text() + "\nafter\n")
    update_markdown(path, "compare a.json", "| new |\n| rows |")
    assert path.read_text() == ("# Title\n\ntext\n\n<!-- BEGIN compare a.json -->\n| new |\n| rows |\n"
                                "<!-- END compare a.json -->\n\nafter\n")


def test_finetune_table_and_caption(tmp_path):
    results = {
        "study": "finetune", "description": "tiny", "seeds": [0, 1], "environment": ENVIRONMENT,
        "finetune_recipe": "small", "finetune": {"epochs": 3, "train_samples": 10000},
        "rows": [
            {"encoder": "random init", "runs": [
                {"pretrain_epochs": 0, "top1": 80.0, "best_top1": 81.0, "top5": 99.0},
                {"pretrain_epochs": 0, "top1": 82.0, "best_top1": 83.0, "top5": 99.5}]},
            {"encoder": "MAE", "budget": "same wall-clock", "runs": [
                {"pretrain_epochs": 32, "top1": 85.5, "best_top1": 85.5, "top5": 99.75},
                {"pretrain_epochs": 32, "top1": 86.5, "best_top1": 86.5, "top5": 99.75}]},
        ],
    }
    assert finetune_table(results).splitlines()[2:] == [
        "| random init |  | 0 | 81.00 ± 1.41 | 82.00 ± 1.41 | 99.25 ± 0.35 | 2 |",
        "| MAE | same wall-clock | 32 | 86.00 ± 0.71 | 86.00 ± 0.71 | 99.75 ± 0.00 | 2 |",
    ]
    assert results_table(results).endswith(
        "_tiny; cpu, torch 2, 2026-11-26; seeds 0, 1; fine-tuning recipe small, 3 epochs on 10000 training images._")
    plot_results(results, tmp_path / "finetune.png")
    assert (tmp_path / "finetune.png").stat().st_size > 0
