"""`lut export --checkpoint C --out F.safetensors`: encoder-only weights for timm."""

import argparse
from pathlib import Path

from lut.commands.arguments import add_options, configured
from lut.errors import UsageError
from lut.interchange import export_encoder, load_encoder
from lut.interchange.export import ExportConfig, check_export_paths


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
    add_options(parser, ExportConfig)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check where the files go, load, export, and say what was written."""
    config = configured(args, ExportConfig)
    if not config.checkpoint or not config.out:
        raise UsageError("give the checkpoint and the file to write: --checkpoint PATH --out FILE.safetensors")
    hf_folder = Path(config.hf_folder).expanduser() if config.hf_folder else None
    check_export_paths(Path(config.out).expanduser(), hf_folder)
    encoder, info = load_encoder(config.checkpoint, config.weights_choice, config.arch or None,
                                 config.img_size or None, default_to_student=False)
    print(info.report())
    for path in export_encoder(encoder, info, config.out, config.global_pool, hf_folder):
        print(f"wrote {path}")
    return 0
