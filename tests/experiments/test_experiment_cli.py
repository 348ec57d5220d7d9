"""Bad input to `lut experiment`: exit code 2 and a message naming what is wrong."""

import json

import pytest

from lut.cli import main

ENVIRONMENT = {"device": "cpu", "torch": "2", "date": "2026-11-26"}


def test_compare_needs_only_the_scale(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["experiment", "compare"])
    assert exit_info.value.code == 2
    assert "error: the following arguments are required: scale\n" in capsys.readouterr().err


@pytest.mark.parametrize("results, missing", [
    ({"study": "compare"}, "description, environment, evaluation, rows, seeds, time_ratio, same_time_epochs"),
    ({"study": "ablations", "description": "tiny", "environment": {"device": "cpu"}, "evaluation": {"k": 3},
      "seeds": [0], "rows": [{"table": "4d", "runs": []}]},
     "environment.torch, environment.date, rows[0].title, rows[0].method, rows[0].key, rows[0].value, "
     "rows[0].default"),
    ({"study": "finetune", "description": "tiny", "environment": ENVIRONMENT, "seeds": [0], "finetune_recipe": "small",
      "finetune": [], "rows": {}}, "finetune.epochs, finetune.train_samples, rows (not a list)"),
])
def test_table_of_incomplete_results_names_the_file_and_the_missing_keys(tmp_path, capsys, results, missing):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(results))
    assert main(["experiment", "table", str(path)]) == 2
    assert capsys.readouterr().err == (f"lut: error: {path} is not a complete {results['study']} results file; "
                                       f"missing or malformed: {missing}\n")
    assert not path.with_suffix(".png").exists()


@pytest.mark.parametrize("results, message", [
    ([1, 2], "is not a results file of `lut experiment`"),
    ({}, "is not a results file of `lut experiment`"),
    ({"study": "other"}, "holds results of an unknown study 'other' (known: compare, ablations, finetune)"),
    ({"study": ["compare"]}, "holds results of an unknown study ['compare'] (known: compare, ablations, finetune)"),
])
def test_table_of_other_json_exits_2(tmp_path, capsys, results, message):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(results))
    assert main(["experiment", "table", str(path)]) == 2
    assert capsys.readouterr().err == f"lut: error: {path} {message}\n"


def test_table_of_complete_results(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({
        "study": "compare", "description": "tiny", "environment": ENVIRONMENT, "evaluation": {"k": 3}, "seeds": [0],
        "time_ratio": 2.0, "same_time_epochs": 4, "rows": [{"encoder": "raw pixels", "runs": [
            {"knn_top1": 50.0, "probe_top1": 40.0}]}]}))
    assert main(["experiment", "table", str(path)]) == 0
    assert "| raw pixels |  |  |  | 50.00 | 40.00 | 1 |" in capsys.readouterr().out
    assert path.with_suffix(".png").stat().st_size > 0
