"""The built package installed as a user installs it (`make wheel-check`; minutes, so not part of `make test`).

`python -m build` makes the sdist and, from it, the wheel. A fresh venv first gets torch and torchvision alone,
at the versions of constraints.txt (the user's own torch), then the wheel without extras. The installed `lut`
then runs from outside the source tree: `--version`, the demo's first pre-training steps, and a command whose
extra is missing. Run it with `python -m pytest tests/distribution/wheel_check.py`.
"""

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints.txt"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION = PROJECT["version"]
DEMO_STEPS = ("demo", "max_steps=3", "train_samples=256", "knn_every_epochs=0", "final_knn=false",
              "num_visualize=0", "num_workers=0", "device=cpu", "log_every_steps=1")


def pinned(name: str) -> str:
    """The version constraints.txt pins `name` to."""
    for line in CONSTRAINTS.read_text().splitlines():
        if line.strip() and not line.startswith("#") and Requirement(line).name == name:
            return str(Requirement(line).specifier)[2:]
    raise KeyError(name)


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `command` with an environment that holds no path into the source tree; output captured."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=1200)


def checked(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`run`, failing the test with the command's output when it exits non-zero."""
    result = run(command, cwd)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """Folder with the sdist and the wheel of the source tree."""
    folder = tmp_path_factory.mktemp("dist")
    checked([sys.executable, "-m", "build", "--outdir", str(folder), str(ROOT)])
    return folder


@pytest.fixture(scope="module")
def wheel(dist) -> Path:
    (path,) = dist.glob("lut-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> dict:
    """A fresh venv with the pinned torch, then the wheel; the torch files' times before and after."""
    folder = tmp_path_factory.mktemp("venv") / "venv"
    checked([sys.executable, "-m", "venv", str(folder)])
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "-c", str(CONSTRAINTS)]
    checked([*pip, "torch", "torchvision"])
    torch_record = next((folder / "lib").glob("python*/site-packages/torch-*.dist-info/RECORD"))
    before = torch_record.stat().st_mtime_ns
    checked([*pip, str(wheel)])
    return {"folder": folder, "torch_record": torch_record, "torch_mtime_before": before,
            "work": tmp_path_factory.mktemp("work")}


def test_wheel_holds_every_data_file_and_the_metadata(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "src" / "lut"
    data_files = {f"lut/{path.relative_to(package)}" for path in package.rglob("*")
                  if path.is_file() and path.suffix not in (".py", ".pyc")}
    assert {"lut/recipes/demo.yaml", "lut/experiments/scales/fashion_mnist_cpu.yaml"} <= data_files
    assert data_files <= names, f"not in the wheel: {sorted(data_files - names)}"
    assert f"lut-{VERSION}.dist-info/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"lut-{VERSION}.dist-info/METADATA").decode()
    lines = set(metadata.splitlines())
    assert {"License-Expression: Apache-2.0", "Requires-Python: >=3.11", "Provides-Extra: analysis",
            "Provides-Extra: all", "Requires-Dist: torch>=2.8"} <= lines
    assert {f"Requires-Dist: {text}" for text in PROJECT["dependencies"]} <= lines


def test_sdist_holds_the_license_changelog_and_pins(dist):
    (sdist,) = dist.glob("lut-*.tar.gz")
    names = {name.split("/", 1)[1] for name in tarfile.open(sdist).getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "constraints.txt", "pyproject.toml"} <= names


def test_installing_the_wheel_leaves_the_users_torch_alone(venv):
    python = str(venv["folder"] / "bin" / "python")
    result = checked([python, "-c", "import torch, torchvision; print(torch.__version__, torchvision.__version__)"])
    assert [Version(text).public for text in result.stdout.split()] == [pinned("torch"), pinned("torchvision")]
    assert venv["torch_record"].stat().st_mtime_ns == venv["torch_mtime_before"]


def test_version_is_the_package_metadata(venv):
    python, lut = str(venv["folder"] / "bin" / "python"), str(venv["folder"] / "bin" / "lut")
    metadata = checked([python, "-c", "import importlib.metadata as m; print(m.version('lut'))"], venv["work"])
    assert metadata.stdout == f"{VERSION}\n"
    assert checked([lut, "--version"], venv["work"]).stdout == f"lut {VERSION}\n"
    where = checked([python, "-c", "import lut; print(lut.__file__)"], venv["work"]).stdout
    assert where.startswith(str(venv["folder"])), f"lut imported from {where}, not from the installed wheel"


def test_demo_pretraining_steps_run_from_the_installed_package(venv):
    output = venv["work"] / "demo"
    result = checked([str(venv["folder"] / "bin" / "lut"), "pretrain", *DEMO_STEPS, f"output_dir={output}"],
                     venv["work"])
    assert f"done: 3 steps; outputs in {output}" in result.stdout
    assert ("INFO lut.extras: metrics go to metrics.jsonl only, no TensorBoard events (No module named 'tensorboard'): "
            "pip install 'lut[tensorboard]' installs it") in result.stderr.splitlines()
    assert (output / "checkpoint-last.pth").is_file()
    assert [line.split(",")[0] for line in (output / "metrics.jsonl").read_text().splitlines()] == [
        '{"step": 1', '{"step": 2', '{"step": 3']
    assert not (output / "tensorboard").exists()


def test_a_command_whose_extra_is_missing_exits_2_naming_it(venv):
    result = run([str(venv["folder"] / "bin" / "lut"), "analyze", "gradcam", "--checkpoint", "absent.pth"],
                 venv["work"])
    assert result.returncode == 2, result.stderr
    assert result.stderr == ("lut: error: Grad-CAM (lut analyze gradcam) needs the 'analysis' extra "
                             "(No module named 'pytorch_grad_cam'): pip install 'lut[analysis]'\n")
