"""Helpers shared by the tests (fixtures live in conftest.py)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lut.segmentation.scenes import FashionScenes

# A ViT-Ti encoder on 16 px images with 4 px patches (16 patches) and a minimal decoder and heads.
TINY_MODEL = {
    "model": "lut_vit_tiny_patch16",
    "img_size": 16,
    "patch_size": 4,
    "decoder_embed_dim": 32,
    "decoder_depth": 1,
    "decoder_num_heads": 2,
    "head_hidden_dim": 64,
}
IMAGES_PER_CLASS = 20


def write_random_images(folder: Path, classes: tuple[str, ...] = ("a", "b"), per_class: int = IMAGES_PER_CLASS,
                        seed: int = 0) -> Path:
    """`per_class` random 20x20 RGB PNGs in each class sub-folder of `folder`."""
    rng = np.random.default_rng(seed)
    for name in classes:
        (folder / name).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            pixels = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / name / f"{index:02d}.png")
    return folder


def write_stripes(folder: Path, per_class: dict[str, int], seed: int) -> Path:
    """Noisy 16 px images: class `horizontal` has horizontal stripes, class `vertical` vertical ones."""
    rng = np.random.default_rng(seed)
    stripes = (np.arange(16) // 2 % 2 * 160).astype(np.uint8)  # (16,) 2 px bands
    for split, count in per_class.items():
        for name, pattern in (("horizontal", stripes[:, None]), ("vertical", stripes[None, :])):
            (folder / split / name).mkdir(parents=True, exist_ok=True)
            for index in range(count):
                pixels = rng.integers(0, 90, (16, 16), dtype=np.uint8) + pattern  # (16, 16)
                Image.fromarray(pixels).convert("RGB").save(folder / split / name / f"{index:02d}.png")
    return folder


def tiny_values(data: Path, output_dir: Path, **overrides) -> dict:
    """Config values of a tiny, fast CPU run: 40 images, batch 4, 10 steps per epoch."""
    values = {
        **TINY_MODEL,
        "data": str(data),
        "output_dir": str(output_dir),
        "num_workers": 0,
        "batch_size": 4,
        "epochs": 1,
        "warmup_epochs": 0.2,
        "blr": 1.5e-4,
        "lr": 0.0,
        "norm_pix_loss": True,
        "bc_loss_weight": 0.25,
        "train_samples": 0,
        "hold_out": False,  # all 40 images of the unsplit test folder: 10 steps per epoch
        "device": "cpu",
        "precision": "fp32",  # the same arithmetic on every CPU class (auto takes bf16 where it is native)
        "log_every_steps": 1,
        "num_visualize": 0,
        "knn_every_epochs": 0,
        "final_knn": False,
    }
    values.update(overrides)
    return values


def assert_equal_up_to_float32_rounding(actual: torch.Tensor, expected: torch.Tensor, ulps: int = 32) -> None:
    """Equal up to the rounding of another float32 accumulation order (another kernel, another CPU).

    Two kernels that sum the same products in different orders differ by a few units in the last place of the
    result's magnitude, and which kernel runs depends on the CPU's instruction set: the bound is `ulps` float32
    epsilons of the largest |expected|, never an absolute number.
    """
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    bound = ulps * torch.finfo(torch.float32).eps * expected.abs().max().item()
    largest = (actual - expected).abs().max().item()
    assert largest <= bound, (f"largest difference {largest:.3g} exceeds {ulps} float32 ulps of the magnitude "
                              f"({bound:.3g})")


def as_overrides(values: dict) -> list[str]:
    """Config values as command-line `key=value` arguments."""
    return [f"{key}={str(value).lower() if isinstance(value, bool) else value}" for key, value in values.items()]


def run_lut(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m lut.cli ARGS` in a fresh process and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "lut.cli", *args],
        capture_output=True, text=True, cwd=cwd, timeout=timeout, env=subprocess_env(),
    )


def subprocess_env() -> dict[str, str]:
    """The current environment, single-threaded, without variables a torchrun parent may have set."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    return env


def torchrun(*args: str, processes: int = 2, timeout: float = 300) -> subprocess.CompletedProcess:
    """`torchrun --nproc_per_node PROCESSES ARGS` on this machine (gloo on CPU), output captured."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes),
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=subprocess_env())


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def random_views(batch: int = 4, size: int = 16) -> list[torch.Tensor]:
    """Two fixed batches of Gaussian "views" (B, 3, size, size), the same at every call."""
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(batch, 3, size, size, generator=generator) for _ in range(2)]


def write_generic(folder: Path, scenes: FashionScenes, splits: dict[str, range], side: int = 24) -> Path:
    """`images/SPLIT/*.png`, `masks/SPLIT/*.png` and `classes.txt` from built-in scenes resized to `side`."""
    for split, indices in splits.items():
        (folder / "images" / split).mkdir(parents=True)
        (folder / "masks" / split).mkdir(parents=True)
        for index in indices:
            image, labels = scenes[index]
            image.resize((side, side), Image.BILINEAR).save(folder / "images" / split / f"scene{index}.png")
            mask = Image.fromarray(labels).resize((side, side), Image.NEAREST)
            mask.save(folder / "masks" / split / f"scene{index}.png")
    (folder / "classes.txt").write_text("\n".join(scenes.classes) + "\n")
    return folder


def stand_in_sbatch(folder: Path, monkeypatch) -> None:
    """Put a stand-in `sbatch` (and a no-op `srun`) first on PATH: it keeps every script it is given as
    FOLDER/scriptN.sh and answers "Submitted batch job 4242", then 4243, ..."""
    bin_folder = folder / "bin"
    bin_folder.mkdir()
    (bin_folder / "sbatch").write_text(
        f'#!/bin/sh\nfor last; do :; done\ncount=$(ls {folder} | grep -c "^script")\n'
        f'cp "$last" {folder}/script$count.sh\necho "Submitted batch job $((4242 + count))"\n')
    (bin_folder / "srun").write_text("#!/bin/sh\n")
    for tool in ("sbatch", "srun"):
        (bin_folder / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_folder}:{os.environ['PATH']}")
