"""`lut data pack FOLDER OUT [--shard-size N]`: write WebDataset tar shards from a data set `lut` reads."""

import argparse
from dataclasses import dataclass

from lut.commands.arguments import add_options, configured
from lut.config import option
from lut.wording import counted


@dataclass
class PackSettings:
    """The settings of `lut data pack`."""

    split: str = option("train", "split to pack; of a labelled folder without split folders, test (and val) is "
                        "its held-out fifth and train the rest", ("train", "test", "val"))
    shard_size: int = option(10000, "samples per shard", minimum=1)


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `data` sub-command, with `pack` under it."""
    parser = subcommands.add_parser("data", help="data set tools: pack tar shards")
    tools = parser.add_subparsers(dest="tool", required=True)
    pack = tools.add_parser("pack", help="write WebDataset tar shards (each image + its class) and shards.json",
                            description="Write the images (and labels) of a data set as WebDataset tar shards, "
                                        "for data=OUT/shard-{000000..N}.tar. Image files of a folder keep their "
                                        "own bytes (JPEG, PNG, WebP: nothing is re-encoded); images of other "
                                        "sources are stored as PNG.")
    pack.add_argument("source", metavar="FOLDER", help="image folder, save_to_disk folder or built-in data set name")
    pack.add_argument("output", metavar="OUT", help="folder for the shards")
    add_options(pack, PackSettings)
    pack.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Pack, with progress, then print the data= pattern of the shards."""
    import importlib.util
    from pathlib import Path

    from tqdm import tqdm

    from lut.data.held_out import image_selection, split_dataset
    from lut.data.packing import pack_shards
    from lut.data.shards import INDEX_FILE
    from lut.errors import UsageError

    settings = configured(args, PackSettings)
    if importlib.util.find_spec("webdataset") is None:
        raise UsageError("lut data pack needs the webdataset package: pip install 'lut[shards]'")
    output = Path(args.output).expanduser()
    if any(output.glob("shard-*.tar")):
        raise UsageError(f"{output} already holds shards; give an empty folder")
    dataset = split_dataset(args.source, settings.split)
    with tqdm(total=len(dataset), unit="img", dynamic_ncols=True) as progress:
        index = pack_shards(dataset, output, settings.shard_size, progress.update, image_selection(dataset))
    last = len(index["counts"]) - 1
    print(f"wrote {counted(index['samples'], 'sample')} in {counted(last + 1, 'shard')} and {output / INDEX_FILE}; "
          f"data={output}/shard-{{000000..{last:06d}}}.tar")
    return 0
