"""The benchmark scripts: each imports, kernel sorting and busy time of the step profile, CPU runs of both step
scripts, and the downstream stand-in data read by the commands that time them."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from downstream_data import ADE20K_SIZE, write_ade20k, write_classes  # noqa: E402
from step_profile import busy_microseconds, kernel_kind  # noqa: E402

TINY = ["--size", "tiny", "--img-size", "32", "--patch-size", "8", "--batch-size", "2", "--decoder-dim", "32",
        "--decoder-depth", "1", "--decoder-heads", "2", "--head-hidden-dim", "64", "--device", "cpu"]


@pytest.mark.parametrize(("name", "kind"), [
    ("nvjet_sm90_tst_192x192_64x4_2x1_v_bz_coopB_bias_TNN", "matrix products"),
    ("cudnn_generated_fort_native_sdpa_sm90_flash_bprop_wgmma_f16_knob_26_64x64x64", "attention"),
    ("void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<64, 128, 64, 4, false, cutlass::bfloat16_t>>",
     "attention"),
    ("void at::native::(anonymous namespace)::multi_tensor_apply_kernel<at::native::(anonymous namespace)::"
     "FusedOptimizerTensorListMetadata<4>, at::native::(anonymous namespace)::FusedAdamMathFunctor<float, 4>>",
     "optimizer (fused AdamW)"),
    ("void at::native::(anonymous namespace)::multi_tensor_apply_kernel<at::native::(anonymous namespace)::"
     "TensorListMetadata<1>, at::native::(anonymous namespace)::BinaryOpScalarFunctor<float, 1, 1, 0>>",
     "EMA (foreach)"),
    ("triton_per_fused__to_copy_add_native_layer_norm_view_14", "fused element-wise (Triton)"),
    ("Memcpy HtoD (Pinned -> Device)", "copies and fills"),
    ("void cudnn::engines_precompiled::nchwToNhwcKernel<__nv_bfloat16, __nv_bfloat16, float, false, true>",
     "other ATen kernels"),
])
def test_kernel_kinds_of_kernels_seen_in_the_h100_profile(name, kind):
    assert kernel_kind(name) == kind


def test_busy_time_is_the_length_of_the_union_of_kernel_intervals():
    assert busy_microseconds([]) == 0.0
    assert busy_microseconds([(0.0, 2.0), (1.0, 3.0), (5.0, 6.0), (5.5, 5.7)]) == 4.0  # [0, 3] and [5, 6]
    assert busy_microseconds([(4.0, 5.0), (0.0, 10.0)]) == 10.0


def run_script(name: str, *arguments: str) -> str:
    completed = subprocess.run([sys.executable, str(BENCHMARKS / name), *TINY, *arguments],
                               capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_step_profile_phases_add_up_on_the_cpu():
    output = run_script("step_profile.py", "--steps", "1", "--warmup", "1")
    milliseconds = {phase: float(value) for phase, value in re.findall(r"^\| ([^|]+?) \| ([\d.]+) \|", output, re.M)}
    assert set(milliseconds) == {"full step", "teacher forward", "forward + backward", "AdamW", "EMA",
                                 "student forward + backward, loss"}
    student = milliseconds["forward + backward"] - milliseconds["teacher forward"]
    assert milliseconds["student forward + backward, loss"] == pytest.approx(student, abs=0.011)
    images_per_s = float(re.search(r"^(\d+) img/s$", output, re.M).group(1))
    assert images_per_s == pytest.approx(2 / milliseconds["full step"] * 1e3, abs=0.51)


def test_step_benchmark_prints_both_methods_and_their_ratios_on_the_cpu():
    output = run_script("step_benchmark.py", "--steps", "1", "--rounds", "1", "--warmup", "0")
    rows = dict(re.findall(r"^\| (LUT|MAE) \| ([\d.]+) \|", output, re.M))
    ratio = float(re.search(r"LUT/MAE time ratio ([\d.]+)", output).group(1))
    assert set(rows) == {"LUT", "MAE"}
    assert ratio == pytest.approx(float(rows["LUT"]) / float(rows["MAE"]), abs=0.01)


@pytest.mark.parametrize("script", sorted(path.stem for path in BENCHMARKS.glob("*.py")))
def test_every_benchmark_script_imports_what_the_package_has(script):
    """A moved or renamed library function breaks a script that only runs on a GPU machine: import each here."""
    result = subprocess.run([sys.executable, "-c", f"import {script}"], capture_output=True, text=True,
                            cwd=BENCHMARKS, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_stand_in_ade20k_is_read_as_the_release_with_150_classes(tmp_path):
    from lut.segmentation.data import segmentation_source

    release = write_ade20k(tmp_path, images=4)
    training, validation = segmentation_source(str(release), "train"), segmentation_source(str(release), "val")
    image, mask = training[0]
    assert (len(training), len(validation)) == (4, 1)
    assert image.size == ADE20K_SIZE and mask.shape == ADE20K_SIZE[::-1]
    assert len(training.classes) == 150
    assert set(mask.ravel().tolist()) <= set(range(150))  # ADE20K's 1-150 read as 0-149


def test_stand_in_class_folder_spreads_photos_over_the_classes(tmp_path):
    root = write_classes(tmp_path, images=12, classes=4)
    counts = {split: sorted(len(list(folder.iterdir())) for folder in (root / split).iterdir())
              for split in ("train", "val")}
    assert counts == {"train": [3, 3, 3, 3], "val": [1, 1, 1, 1]}
