"""`lut export --checkpoint C --out F.safetensors`: encoder-only weights for timm."""

import argparse
from pathlib import Path

from lut.commands.options import add_encoder_options
from lut.interchange import export_encoder, load_encoder
from lut.interchange.export import GLOBAL_POOLS, check_export_paths


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `export` sub-command."""
    parser = subcommands.add_parser(
        "export",
        help="export an encoder as timm-loadable safetensors",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write the student's or the teacher's encoder (no decoder or heads) as safetensors that "
                    "timm.create_model('vit_<size>_patch16_224', img_size=S, patch_size=P, global_pool='avg', "
                    "num_classes=0) loads strictly (S and P of the export; the --hf-folder README names them). "
                    "A pre-training checkpoint holding both needs --weights student or --weights teacher.",
        epilog="With --global-pool avg the final norm is stored as fc_norm: timm then pools before the norm, so\n"
               "model(x) differs from our mean-pooled feature; model.fc_norm(model.forward_features(x)) equals our\n"
               "normalised tokens. With --global-pool token the keys are ours and model(x) is our CLS feature.",
    )
    add_encoder_options(parser, weights_help="network of a pre-training checkpoint; required when the file holds "
                                             "a student and a teacher")
    parser.add_argument("--out", required=True, metavar="FILE", help="the .safetensors file to write")
    parser.add_argument("--global-pool", choices=GLOBAL_POOLS, default="avg", help="timm pooling the file is for")
    parser.add_argument("--img-size", type=int, default=None, help="input side (resamples the position table)")
    parser.add_argument("--hf-folder", default=None, metavar="DIR",
                        help="also write model.safetensors + config.json + README.md (timm 'local-dir:DIR')")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check where the files go, load, export, and say what was written."""
    hf_folder = None if args.hf_folder is None else Path(args.hf_folder).expanduser()
    check_export_paths(Path(args.out).expanduser(), hf_folder)
    encoder, info = load_encoder(args.checkpoint, args.weights, args.arch, args.img_size, default_to_student=False)
    print(info.report())
    for path in export_encoder(encoder, info, args.out, args.global_pool, hf_folder):
        print(f"wrote {path}")
    return 0
