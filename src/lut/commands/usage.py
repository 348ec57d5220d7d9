"""The most common commands, shown in `lut`'s and each sub-command's help before the full list of options."""

import argparse
import textwrap

COMMON_COMMANDS = {
    "lut": [
        ("lut pretrain", "the demo: LUT on Fashion-MNIST on the CPU"),
        ("lut pretrain data=FOLDER output_dir=runs/mine", "pre-train on your own images"),
        ("lut knn --checkpoint runs/mine/checkpoint-last.pth --data FOLDER", "how good are its features?"),
    ],
    "pretrain": [
        ("lut pretrain", "the demo recipe"),
        ("lut pretrain data=FOLDER output_dir=runs/mine", "your own images (a folder of class folders, or flat)"),
        ("torchrun --nproc_per_node 8 -m lut.cli pretrain lut_vit_base data=FOLDER", "the paper's ViT-B, 8 GPUs"),
    ],
    "knn": [
        ("lut knn --checkpoint runs/demo/checkpoint-last.pth --data fashion-mnist", "DINO's k-NN of the student"),
        ("lut knn --checkpoint C --data FOLDER --weights teacher", "the teacher's features on your data"),
    ],
    "linprobe": [
        ("lut linprobe --checkpoint C --data fashion-mnist", "recipe small"),
        ("lut linprobe --checkpoint C --data FOLDER --recipe imagenet", "the MAE protocol, 90 epochs"),
    ],
    "finetune": [
        ("lut finetune --checkpoint C --data fashion-mnist", "recipe small"),
        ("torchrun --nproc_per_node 8 -m lut.cli finetune --checkpoint C --data FOLDER --recipe vit_base",
         "the paper's ViT-B recipe"),
    ],
    "export": [
        ("lut export --checkpoint C --weights teacher --out teacher.safetensors", "encoder weights for timm"),
    ],
    "segment": [
        ("lut segment train --checkpoint runs/demo/checkpoint-last.pth", "UperNet on the built-in scenes"),
        ("lut segment eval --checkpoint runs/segment_small/checkpoint-best.pth --mode slide", "mIoU"),
    ],
    "transfer": [
        ("lut transfer --checkpoint A B --labels LUT MAE --data fashion-mnist", "the small 3 x 3 lr x wd grid"),
    ],
    "robustness": [
        ("lut robustness --checkpoint C --benchmark imagenet-a=/data/imagenet-a", "one benchmark, Table 5's scoring"),
    ],
    "launch": [
        ("lut launch slurm --nodes 2 --gpus-per-node 8 -- pretrain lut_vit_base data=FOLDER",
         "SLURM, requeued on preemption"),
    ],
    "data": [
        ("lut data pack FOLDER OUT", "WebDataset tar shards for data=OUT/..."),
    ],
    "analyze": [
        ("lut analyze attention-distance --checkpoint A B --labels LUT MAE --data fashion-mnist", "Fig. 4a"),
        ("lut analyze spectrum --checkpoint A B --labels LUT MAE --data fashion-mnist", "Fig. 4b"),
    ],
    "experiment": [
        ("lut experiment compare fashion_mnist_cpu", "LUT vs MAE over 3 seeds on the CPU"),
    ],
    "paper": [
        ("lut paper table1 --scale tiny --dry-run", "Table 1's runs, their command lines and cost"),
        ("lut paper table1 --scale tiny", "run them on the CPU and write table1.md beside the paper's numbers"),
        ("lut paper status runs/paper/tiny", "which runs are done, running, failed or waiting"),
    ],
}


def with_common_commands(parser: argparse.ArgumentParser, name: str) -> None:
    """Put the common commands of `name` (if any) after the parser's description, before its options."""
    examples = COMMON_COMMANDS.get(name)
    if not examples:
        return
    width = max(len(command) for command, _ in examples)
    lines = [f"  {command:<{width}}  # {meaning}" for command, meaning in examples]
    description = "\n".join(textwrap.wrap(parser.description or "", 100))
    parser.description = f"{description}\n\ncommon commands:\n" + "\n".join(lines)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
