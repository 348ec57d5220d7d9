"""`write_json`: the one writer of results files, whole or not at all."""

import pytest

from lut.runtime import files
from lut.runtime.files import write_json


def test_written_indented_with_a_final_newline_and_no_partial_file_left(tmp_path):
    path = tmp_path / "results.json"
    write_json({"top1": 81.5, "pools": ["cls", "mean"]}, path)
    assert path.read_text() == '{\n  "top1": 81.5,\n  "pools": [\n    "cls",\n    "mean"\n  ]\n}\n'
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["results.json"]


def test_a_write_cut_short_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    write_json({"run": 1}, path)

    def killed(source, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_json({"run": 2}, path)
    assert path.read_text() == '{\n  "run": 1\n}\n'


def test_a_payload_that_is_not_json_leaves_the_previous_file_whole(tmp_path):
    path = tmp_path / "results.json"
    write_json({"run": 1}, path)
    with pytest.raises(TypeError):
        write_json({"run": object()}, path)
    assert path.read_text() == '{\n  "run": 1\n}\n'
