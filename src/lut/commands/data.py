"""`lut data pack FOLDER OUT [--shard-size N]`: write WebDataset tar shards from a data set `lut` reads."""

import argparse

from lut.wording import counted


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `data` sub-command, with `pack` under it."""
    parser = subcommands.add_parser("data", help="data set tools: pack tar shards")
    tools = parser.add_subparsers(dest="tool", required=True)
    pack = tools.add_parser("pack", help="write WebDataset tar shards (PNG + class) and shards.json",
                            description="Write the images (and labels) of a data set as WebDataset tar shards, "
                                        "for data=OUT/shard-{000000..N}.tar.")
    pack.add_argument("source", metavar="FOLDER", help="image folder, save_to_disk folder or built-in data set name")
    pack.add_argument("output", metavar="OUT", help="folder for the shards")
    pack.add_argument("--split", default="train", choices=("train", "test", "val"), help="split (default: train)")
    pack.add_argument("--shard-size", type=int, default=10000, help="samples per shard (default: 10000)")
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

    if importlib.util.find_spec("webdataset") is None:
        raise UsageError("lut data pack needs the webdataset package: pip install 'lut[shards]'")
    if args.shard_size < 1:
        raise UsageError(f"--shard-size {args.shard_size} is out of range (at least 1)")
    output = Path(args.output).expanduser()
    if any(output.glob("shard-*.tar")):
        raise UsageError(f"{output} already holds shards; give an empty folder")
    dataset = split_dataset(args.source, args.split)
    with tqdm(total=len(dataset), unit="img", dynamic_ncols=True) as progress:
        index = pack_shards(dataset, output, args.shard_size, progress.update, image_selection(dataset))
    last = len(index["counts"]) - 1
    print(f"wrote {counted(index['samples'], 'sample')} in {counted(last + 1, 'shard')} and {output / INDEX_FILE}; "
          f"data={output}/shard-{{000000..{last:06d}}}.tar")
    return 0
