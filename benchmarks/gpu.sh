#!/usr/bin/env bash
# GPU-only checks and measurements on one H100/H200; needs no network.
#
# Uses the python3 found on the machine (torch, timm, torchvision, scikit-image, pyyaml, tqdm,
# pytest installed) and this checkout's sources through PYTHONPATH, so nothing is installed.
# Writes a markdown report to $OUT/gpu_results.md (./gpu_results.md when OUT is unset) and
# prints it as it goes. Every check runs under a time limit; a failed check is marked in the
# report, the others still run, and the exit status is 1 when any failed.
#
#   bash benchmarks/gpu.sh                      # all but profile, large-batch and study: about 7 minutes
#   bash benchmarks/gpu.sh step augment study   # chosen sections
#
# Sections: checks (bf16 step, fused AdamW, activation checkpointing and compile parity, the CUDA
# tests), pretrain (two 20-step ViT-S runs), memory (ViT-L/16 and ViT-H/14 peak memory), step
# (ViT-B/16 LUT vs MAE, eager), compiled (the same, compiled), profile (where the ViT-B/16 LUT step's time goes:
# phases and GPU kernels by kind, eager at batch 128 and compiled at 256, and the attention kernels; about 4
# minutes), augment (augment_on=device throughput), large-batch (ViT-B/16 LUT compiled at batch 256 and 512; about
# 3 minutes),
# study (`lut experiment compare fashion_mnist_gpu`, about 6 minutes; needs Fashion-MNIST: set
# LUT_FASHION_MNIST_DIR to a copy of /usr/share/datasets/fashion-mnist),
# downstream (ViT-B/16 UperNet at 512 px and ViT-B/16 fine-tuning at 224 px on stand-in photos: iterations/s and
# images/s, for the cost of the paper's 160k-iteration ADE20K and transfer runs; about 3 minutes),
# paper (`lut paper all --scale tiny` on the machine's CPU cores, PAPER_JOBS at once, then again to show reuse;
# needs Fashion-MNIST as for study; its tables go to $OUT).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
PYTHON=${PYTHON:-python3}
RESULTS="${OUT:-.}/gpu_results.md"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export PYTHONPATH="$PWD/src:$PWD/benchmarks${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
failures=0

# check TITLE SECONDS COMMAND...: run COMMAND under a time limit, its output into the report.
check() {
    local title=$1 limit=$2
    shift 2
    printf '\n## %s\n\n```\n$ %s\n' "$title" "$*" | tee -a "$RESULTS"
    local started=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee -a "$RESULTS"
    local status=${PIPESTATUS[0]}
    echo "($((SECONDS - started)) s)" | tee -a "$RESULTS"
    if [ "$status" -ne 0 ]; then
        failures=$((failures + 1))
        echo "FAILED (exit $status)" | tee -a "$RESULTS"
    fi
    printf '```\n' | tee -a "$RESULTS"
}

cat > "$WORK/cuda_checks.py" <<'EOF'
"""bf16 autocast + fused AdamW steps, activation checkpointing and compile parity on the GPU."""
import torch

from lut import create_model
from lut.models import Teacher
from lut.runtime.compiling import compile_forward
from lut.training.lut_step import LossSettings, pretrain_losses
from lut.training.teacher import EMAUpdater

device = torch.device("cuda")
KWARGS = dict(img_size=64, patch_size=8, decoder_embed_dim=64, decoder_depth=2, decoder_num_heads=4,
              head_hidden_dim=256)


def model(**extra):
    torch.manual_seed(0)
    student = create_model("lut_vit_tiny_patch16", **KWARGS, **extra).to(device)
    return student, Teacher.from_student(student)


def losses(student, teacher, seed=1):
    generator = torch.Generator().manual_seed(0)
    views = [torch.randn(8, 3, 64, 64, generator=generator).to(device) for _ in range(2)]
    settings = LossSettings(student.patch_size, student.num_patches)
    return pretrain_losses(student, teacher, views, settings, torch.Generator().manual_seed(seed))


student, teacher = model()
ema = EMAUpdater(teacher, student)
optimizer = torch.optim.AdamW(student.parameters(), lr=1e-4, fused=True)
for step in range(3):
    with torch.autocast("cuda", dtype=torch.bfloat16):
        result = losses(student, teacher, seed=step)
    result.total.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    ema.update(0.996)
    assert torch.isfinite(result.total), result.total
    print(f"bf16 step {step}: loss {result.total.item():.4f} (mae {result.mae.item():.4f}, bc {result.bc.item():.4f})")
assert all(p.dtype == torch.float32 for p in student.parameters())
print("bf16 autocast + fused AdamW + EMA: ok, weights stay float32")

gradients = []
for checkpointing in (False, True):
    student, teacher = model(activation_checkpointing=checkpointing)
    losses(student, teacher).total.backward()
    gradients.append({n: p.grad for n, p in student.named_parameters() if p.grad is not None})
worst = max((gradients[0][n] - gradients[1][n]).abs().max().item() for n in gradients[0])
print(f"activation checkpointing, fp32: largest gradient difference {worst:.2e}")
assert worst < 1e-5

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
eager = losses(*model()).total.item()
student, teacher = model()
compile_forward(student, "default")
compile_forward(teacher, "default")
compiled = losses(student, teacher)
compiled.total.backward()
print(f"compile, fp32: loss eager {eager:.6f}, compiled {compiled.total.item():.6f}")
assert abs(eager - compiled.total.item()) < 1e-4
print("compiled student and teacher: ok")
EOF

{
    echo "# GPU results"
    echo
    echo "$(date -u +%Y-%m-%d) on $(uname -n); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$RESULTS"

check "Environment" 30 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv && \
    $PYTHON -c 'import torch, timm; print(\"torch\", torch.__version__, \"timm\", timm.__version__, \
    torch.cuda.get_device_name())'"

SECTIONS=("$@")
[ ${#SECTIONS[@]} -eq 0 ] && SECTIONS=(checks pretrain memory step compiled augment)
wants() { [[ " ${SECTIONS[*]} " == *" $1 "* ]]; }

if wants checks; then
    check "bf16 step, fused AdamW, activation checkpointing, compile parity" 150 "$PYTHON" "$WORK/cuda_checks.py"
    check "CUDA tests (device augmentation equals the CPU path)" 120 "$PYTHON" -m pytest -q -p no:cacheprovider \
        tests/data/test_batch_views.py
fi

if wants pretrain; then
    check "Photo folder for pre-training" 60 "$PYTHON" -c \
        "from pathlib import Path; from data_benchmark import write_photo_folder; \
        folder = Path('$WORK/photos'); folder.mkdir(); write_photo_folder(folder, 512); print('512 JPEGs')"
    pretrain_args=(
        lut_vit_small data="$WORK/photos" batch_size=64 accum_iter=1 epochs=3 max_steps=20 keep_every_epochs=0
        warmup_epochs=0.5 lr=1e-4 device=cuda precision=auto num_workers=8 log_every_steps=5 num_visualize=0
        save_every_steps=0 resume=none
    )
    check "lut pretrain, ViT-S/16, 20 steps, precision=auto (bf16 on this GPU)" 90 \
        "$PYTHON" -m lut.cli pretrain "${pretrain_args[@]}" output_dir="$WORK/run_eager"
    check "precision=auto: the run records bf16" 10 grep -x "precision: bf16" "$WORK/run_eager/config.yaml"
    check "lut pretrain, ViT-S/16, 20 steps, bf16, compile + activation checkpointing, device augmentation" 150 \
        "$PYTHON" -m lut.cli pretrain "${pretrain_args[@]}" output_dir="$WORK/run_compiled" compile=true \
        activation_checkpointing=true augment_on=device
fi

if wants memory; then
    large=(--size large --batch-size 128 --precision bf16 --methods lut --steps 3 --rounds 1 --warmup 1)
    check "ViT-L/16 LUT, batch 128, bf16: peak memory" 90 "$PYTHON" benchmarks/step_benchmark.py "${large[@]}"
    check "ViT-L/16 LUT, batch 128, bf16, activation checkpointing: peak memory" 90 \
        "$PYTHON" benchmarks/step_benchmark.py "${large[@]}" --activation-checkpointing
    huge=(--size huge --patch-size 14 --batch-size 128 --precision bf16 --methods lut --steps 2 --rounds 1 --warmup 1)
    check "ViT-H/14 LUT, batch 128, bf16, activation checkpointing: peak memory" 90 \
        "$PYTHON" benchmarks/step_benchmark.py "${huge[@]}" --activation-checkpointing
fi

base=(--size base --batch-size 128 --precision bf16 --steps 10 --rounds 2 --warmup 3)
if wants step; then
    check "ViT-B/16 step, batch 128, bf16, eager: LUT/MAE ratio and MFU" 90 \
        "$PYTHON" benchmarks/step_benchmark.py "${base[@]}"
fi
if wants compiled; then
    check "ViT-B/16 step, batch 128, bf16, compiled: LUT/MAE ratio and MFU" 240 \
        "$PYTHON" benchmarks/step_benchmark.py "${base[@]}" --compile
fi

if wants profile; then
    profile=(--size base --precision bf16 --steps 5 --warmup 3)
    check "ViT-B/16 LUT step, batch 128, bf16, eager: phases and GPU kernels" 90 \
        "$PYTHON" benchmarks/step_profile.py "${profile[@]}" --batch-size 128
    check "ViT-B/16 LUT step, batch 256, bf16, compiled: phases and GPU kernels" 240 \
        "$PYTHON" benchmarks/step_profile.py "${profile[@]}" --batch-size 256 --compile --top 30
    check "Attention kernels on the step's shapes, batch 256" 60 "$PYTHON" benchmarks/attention_benchmark.py
fi

b256=(--size base --batch-size 256 --precision bf16 --steps 10 --rounds 1 --warmup 2 --methods lut --compile)
if wants large-batch; then
    check "ViT-B/16 LUT step, batch 256, bf16, compiled" 120 "$PYTHON" benchmarks/step_benchmark.py "${b256[@]}"
    check "ViT-B/16 LUT step, batch 512, bf16, compiled" 120 \
        "$PYTHON" benchmarks/step_benchmark.py "${b256[@]}" --batch-size 512
fi

if wants augment; then
    check "augment_on=device: canvases per loader process and GPU views" 120 "$PYTHON" benchmarks/data_benchmark.py \
        --workers 16 --images 256 --epochs 2 --device-augment --augment-batch 256 --augment-steps 20
fi

if wants study; then
    check "LUT vs MAE on Fashion-MNIST, 3 seeds, same epochs and same wall-clock" 420 \
        "$PYTHON" -m lut.cli experiment compare fashion_mnist_gpu --root "$WORK/study" \
        --results "${OUT:-.}/compare.json"
fi

if wants downstream; then
    check "Stand-in ADE20K (128 training pairs) and class folder (1024 photos)" 120 bash -c \
        "$PYTHON benchmarks/downstream_data.py ade20k $WORK/ade --images 128 && \
        $PYTHON benchmarks/downstream_data.py classes $WORK/photos10 --images 1024 --classes 10"
    check "ViT-B/16 encoder to start from (2 LUT steps)" 90 "$PYTHON" -m lut.cli pretrain lut_vit_base \
        data="$WORK/photos10/train" batch_size=32 max_steps=2 epochs=1 num_workers=8 final_knn=false num_visualize=0 \
        knn_every_epochs=0 device=cuda output_dir="$WORK/vit_base"
    check "lut segment train, ViT-B/16 UperNet, 512 px crops, batch 16 on one GPU, 100 iterations" 240 \
        "$PYTHON" -m lut.cli segment train --recipe ade20k_vit_base --checkpoint "$WORK/vit_base/checkpoint-last.pth" \
        data="$WORK/ade/ADEChallengeData2016" batch_size=16 max_iters=100 warmup_iters=10 eval_every_iters=100 \
        val_samples=8 num_workers=14 log_every_iters=25 output_dir="$WORK/segment"
    check "lut finetune, ViT-B/16, 224 px, batch 128, RandAugment + mixup, 3 epochs of 1024 photos" 180 \
        "$PYTHON" -m lut.cli finetune --recipe vit_base --checkpoint "$WORK/vit_base/checkpoint-last.pth" \
        data="$WORK/photos10" batch_size=128 accum_iter=1 epochs=3 warmup_epochs=1 num_workers=14 \
        output_dir="$WORK/finetune"
fi

if wants paper; then
    check "lut paper all --scale tiny, ${PAPER_JOBS:-14} runs at once on the CPU" 420 env OMP_NUM_THREADS=1 \
        "$PYTHON" -m lut.cli paper all --scale tiny --jobs "${PAPER_JOBS:-14}" --root "$WORK/paper"
    check "lut paper all --scale tiny again: every run reused" 60 "$PYTHON" -m lut.cli paper all --scale tiny \
        --root "$WORK/paper"
    cp "$WORK"/paper/table*.md "${OUT:-.}/" 2>/dev/null
    cat "$WORK"/paper/table*.md | tee -a "$RESULTS"
fi

printf '\n%s check(s) failed\n' "$failures" | tee -a "$RESULTS"
[ "$failures" -eq 0 ]
