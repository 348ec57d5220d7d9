"""`lut export` refuses an output name that promises another format (item 9)."""

from lut.cli import main


def test_a_pth_name_is_refused_before_anything_is_loaded_or_written(tmp_path, capsys):
    out = tmp_path / "x.pth"
    assert main(["export", "--checkpoint", str(tmp_path / "missing.pth"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"lut: error: --out {out}: the export is a safetensors file, which torch.load "
                                       "cannot read; name it x.safetensors\n")
    assert list(tmp_path.iterdir()) == []
