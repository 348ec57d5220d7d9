"""Package metadata: `lut --version`, extras that match the code's optional imports, pins that match the ranges."""

import ast
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions, version
from pathlib import Path

from helpers import subprocess_env
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PYPROJECT["optional-dependencies"]
OPTIONAL_IMPORTERS = ("require", "optional")  # the functions of lut.extras
IMPORTED_THROUGH = {"torch.utils.tensorboard": "tensorboard"}  # torch's module that imports the optional package


def optional_imports() -> list[tuple[str, str, str]]:
    """(file, module, extra) of every `require(...)` / `optional(...)` call in the package."""
    found = []
    for path in sorted((ROOT / "src" / "lut").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in OPTIONAL_IMPORTERS
                    and len(node.args) >= 2 and all(isinstance(arg, ast.Constant) for arg in node.args[:2])):
                found.append((str(path.relative_to(ROOT)), node.args[0].value, node.args[1].value))
    return found


def requirement_names(requirements: list[str]) -> set[str]:
    """Canonical distribution names of requirement strings, `lut[...]` (extras of extras) left out."""
    return {canonicalize_name(Requirement(text).name) for text in requirements} - {"lut"}


def test_version_option_prints_the_installed_metadata_version():
    result = subprocess.run([sys.executable, "-m", "lut.cli", "--version"], capture_output=True, text=True,
                            timeout=120, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"lut {version('lut')}\n"


def test_every_optional_import_names_an_extra_that_installs_it():
    imports = optional_imports()
    assert {(module, extra) for _, module, extra in imports} >= {
        ("pytorch_grad_cam", "analysis"), ("skimage.data", "analysis"), ("torch.utils.tensorboard", "tensorboard")}
    distributions = packages_distributions()
    for path, module, extra in imports:
        assert extra in EXTRAS, f"{path}: extra {extra!r} of {module} is not in pyproject.toml"
        top_level = IMPORTED_THROUGH.get(module, module.split(".")[0])
        provided_by = {canonicalize_name(name) for name in distributions.get(top_level, [])}
        assert provided_by, f"{path}: {top_level} is not installed here, so its distribution is unknown"
        assert provided_by & requirement_names(EXTRAS[extra]), f"{path}: extra {extra!r} does not install {module}"


def test_all_extra_is_every_user_extra():
    (everything,) = EXTRAS["all"]
    assert Requirement(everything).name == "lut"
    assert Requirement(everything).extras == set(EXTRAS) - {"all", "test"}


def test_core_requirements_leave_optional_packages_out():
    core = requirement_names(PYPROJECT["dependencies"])
    assert {"torch", "torchvision", "timm", "matplotlib"} <= core
    assert not core & {"grad-cam", "scikit-image", "tensorboard", "pytest"}
    assert all(not Requirement(text).specifier or ">=" in str(Requirement(text).specifier)
               for text in PYPROJECT["dependencies"]), "ranges only: exact versions belong in constraints.txt"


def test_constraints_pin_every_requirement_inside_its_range():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            assert str(requirement.specifier).startswith("=="), f"constraints.txt: {line} is not an exact pin"
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier)[2:]
    requirements = [*PYPROJECT["dependencies"], *(text for texts in EXTRAS.values() for text in texts)]
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name == "lut":
            continue
        assert name in pins, f"constraints.txt has no pin for {name}"
        assert requirement.specifier.contains(pins[name]), f"pin {name}=={pins[name]} is outside {text}"
