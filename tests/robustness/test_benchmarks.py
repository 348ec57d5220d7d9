"""Benchmarks on tiny trees in each benchmark's real layout: labels, masks, lists, mappings, crop, factors."""

import json

import imagenet_layouts
import numpy as np
import pytest
import torch
from PIL import Image
from robustness_helpers import write_image

from lut.errors import UsageError
from lut.robustness.benchmarks.fashion_mnist import Place, Rotate
from lut.robustness.benchmarks.imagenet import (
    imagenet_a,
    imagenet_o,
    imagenet_r,
    imagenet_real,
    imagenet_v2,
    imagenet_val,
    occlusion,
)
from lut.robustness.benchmarks.objectnet import BorderCrop, objectnet
from lut.robustness.benchmarks.si_score import si_score_size
from lut.robustness.options import RobustnessOptions
from lut.robustness.tables import imagenet_index, imagenet_synsets, real_labels, subset_indices, subset_synsets

OPTIONS = RobustnessOptions()


def logits_predicting(classes: list[int], num_classes: int = 1000) -> torch.Tensor:
    """(N, num_classes) logits whose argmax is `classes[n]` for row n."""
    logits = torch.zeros(len(classes), num_classes)
    logits[torch.arange(len(classes)), torch.tensor(classes)] = 1.0
    return logits


def test_v2_folders_are_class_indices_not_sort_positions(tmp_path):
    for folder, count in (("10", 2), ("2", 1), ("100", 1)):
        for index in range(count):
            write_image(tmp_path / folder / f"{index}.jpeg")
    benchmark = imagenet_v2(tmp_path, OPTIONS, {})
    folders = [path.parent.name for path in benchmark.passes[0].images.paths]
    assert folders == ["10", "10", "100", "2"]
    assert benchmark.score({"images": logits_predicting([10, 10, 100, 2])})["top1"] == pytest.approx(100.0)
    assert benchmark.score({"images": logits_predicting([0, 1, 2, 3])})["top1"] == pytest.approx(0.0)


def test_v2_refuses_wnid_folders_with_the_expected_layout(tmp_path):
    write_image(tmp_path / "n01440764" / "a.jpeg")
    with pytest.raises(UsageError, match="expected folders named 0..999 by ImageNet class index; found 1 other"):
        imagenet_v2(tmp_path, OPTIONS, {})


@pytest.mark.parametrize(("builder", "name"), [(imagenet_a, "imagenet-a"), (imagenet_r, "imagenet-r")])
def test_a_and_r_masks_pick_their_classes_logits(tmp_path, builder, name):
    wnids, indices = subset_synsets(name), subset_indices(name)
    write_image(tmp_path / wnids[0] / "x.jpg")
    write_image(tmp_path / wnids[5] / "y.jpg")
    benchmark = builder(tmp_path, OPTIONS, {})
    logits = torch.zeros(2, 1000)
    outside = next(index for index in range(1000) if index not in indices)
    logits[0, outside] = 9.0   # the 1000-way argmax is outside the subset ...
    logits[0, indices[0]] = 5.0  # ... the masked argmax is the image's class
    logits[1, indices[5]] = 3.0
    logits[1, indices[7]] = 4.0  # wrong either way
    scores = benchmark.score({"images": logits})
    assert scores["top1_mask"] == pytest.approx(50.0) and scores["top1"] == pytest.approx(50.0)
    assert scores["top1_membership"] == pytest.approx(0.0)
    membership = builder(tmp_path, RobustnessOptions(subset_protocol="membership"), {})
    assert membership.score({"images": logits})["top1"] == pytest.approx(0.0)


def test_a_refuses_folders_outside_its_200_classes(tmp_path):
    write_image(tmp_path / imagenet_synsets()[0] / "x.jpg")  # tench is not an ImageNet-A class
    with pytest.raises(UsageError, match="folders named by the 200 imagenet-a wnids"):
        imagenet_a(tmp_path, OPTIONS, {})


def test_real_scores_listed_labels_and_skips_empty_lists(tmp_path):
    labels = real_labels()
    empty = next(index for index, entry in enumerate(labels) if not entry)
    listed = [index for index, entry in enumerate(labels) if entry][:2]
    for index in (*listed, empty):
        write_image(tmp_path / imagenet_synsets()[0] / f"ILSVRC2012_val_{index + 1:08d}.JPEG")
    benchmark = imagenet_real(tmp_path, OPTIONS, {})
    order = [int(path.stem.split("_")[-1]) - 1 for path in benchmark.passes[0].images.paths]
    wrong = next(index for index in range(1000) if index not in labels[listed[1]])
    predicted = {listed[0]: labels[listed[0]][-1], listed[1]: wrong, empty: 0}
    scores = benchmark.score({"images": logits_predicting([predicted[index] for index in order])})
    assert scores == {"top1": pytest.approx(50.0), "images": 2, "skipped_empty": 1}


def test_real_refuses_files_not_named_as_imagenet_val(tmp_path):
    write_image(tmp_path / "photo.jpg")
    with pytest.raises(UsageError, match="ILSVRC2012_val_00000001.JPEG"):
        imagenet_real(tmp_path, OPTIONS, {})


def test_o_aupr_against_val_images_of_its_classes(tmp_path):
    o_wnids = subset_synsets("imagenet-o")
    write_image(tmp_path / "o" / o_wnids[0] / "a.jpg")
    write_image(tmp_path / "o" / o_wnids[1] / "b.jpg")
    write_image(tmp_path / "val" / o_wnids[0] / "c.JPEG")
    write_image(tmp_path / "val" / o_wnids[2] / "d.JPEG")
    other = next(wnid for wnid in imagenet_synsets() if wnid not in o_wnids)
    write_image(tmp_path / "val" / other / "e.JPEG")
    with pytest.raises(UsageError, match="imagenet-val=PATH"):
        imagenet_o(tmp_path / "o", OPTIONS, {})
    benchmark = imagenet_o(tmp_path / "o", OPTIONS, {"imagenet-val": tmp_path / "val"})
    assert [len(step.images) for step in benchmark.passes] == [2, 2]  # the non-O val class is left out
    confident = torch.zeros(2, 1000)
    confident[:, subset_indices("imagenet-o")[0]] = 20.0
    flat = torch.zeros(2, 1000)
    flat[:, 0] = 50.0  # a huge logit outside O's classes is masked away: still flat over the 200
    scores = benchmark.score({"in-distribution": confident, "images": flat})
    assert scores["aupr"] == pytest.approx(100.0) and scores["auroc"] == pytest.approx(100.0)
    same = benchmark.score({"in-distribution": flat, "images": flat})
    assert same["aupr"] == pytest.approx(50.0)  # 2 OOD of 4 images


def write_objectnet(root):
    """images/ with two mapped folders and one unmapped, and the four mapping files (ids shifted by one)."""
    write_image(root / "images" / "alarm_clock" / "1.png", size=(10, 8))
    write_image(root / "images" / "banana" / "2.png", size=(10, 8))
    write_image(root / "images" / "unmapped" / "3.png", size=(10, 8))
    mappings = root / "mappings"
    mappings.mkdir()
    (mappings / "folder_to_objectnet_label.json").write_text(json.dumps({"alarm_clock": "Alarm clock",
                                                                         "banana": "Banana"}))
    (mappings / "objectnet_to_imagenet_1k.json").write_text(json.dumps({"Alarm clock": "analog clock; digital clock",
                                                                        "Banana": "banana"}))
    # 1000-way index i is ImageNet 2012 id i + 1 (mod 1000), so line i + 1 of the names file is class i
    (mappings / "pytorch_to_imagenet_2012_id.json").write_text(json.dumps({str(i): (i + 1) % 1000
                                                                           for i in range(1000)}))
    names = [f"class {index}" for index in range(1000)]
    names[410], names[531], names[955] = "analog clock", "digital clock", "banana"
    (mappings / "imagenet_to_label_2012_v2").write_text("\n".join(names) + "\n")


def test_objectnet_projects_mapped_logits_and_crops_the_border(tmp_path):
    write_objectnet(tmp_path)
    benchmark = objectnet(tmp_path, OPTIONS, {})
    paths = benchmark.passes[0].images.paths
    assert [path.parent.name for path in paths] == ["alarm_clock", "banana"]  # the unmapped folder is dropped
    logits = torch.zeros(2, 1000)
    logits[0, 530] = 3.0  # digital clock (line 531) -> alarm clock: right
    logits[0, 954] = 2.0
    logits[1, 409] = 5.0  # analog clock -> alarm clock: wrong
    logits[1, 954] = 4.0  # banana (line 955)
    scores = benchmark.score({"images": logits})
    assert scores["top1"] == pytest.approx(50.0) and scores["classes"] == 2
    logits[1, 409] = 0.0
    assert benchmark.score({"images": logits})["top1_membership"] == pytest.approx(100.0)
    framed = Image.new("RGB", (10, 8), (255, 0, 0))
    framed.paste((0, 0, 255), (2, 2, 8, 6))
    cropped = benchmark.passes[0].image_transform(framed)
    assert cropped.size == (6, 4) and (np.asarray(cropped) == (0, 0, 255)).all()
    assert BorderCrop(3)(framed).size == (4, 2)


def test_objectnet_names_missing_mapping_files(tmp_path):
    write_objectnet(tmp_path)
    (tmp_path / "mappings" / "objectnet_to_imagenet_1k.json").unlink()
    with pytest.raises(UsageError, match="mapping file.* missing .*objectnet_to_imagenet_1k.json"):
        objectnet(tmp_path, OPTIONS, {})


def test_si_score_labels_by_class_name_and_groups_by_factor(tmp_path):
    rows = [("0", "koala", 0.2), ("1", "koala", 0.5), ("2", "lemon", 0.2), ("3", "lemon", 0.5)]
    for image_id, name, _ in rows:
        write_image(tmp_path / name / f"{image_id}.jpg")
    lines = ["image_id,x_coord,y_coord,area,rotation"] + [f"{i},0.5,0.5,{area},0" for i, _, area in rows]
    (tmp_path / "metadata.csv").write_text("\n".join(lines) + "\n")
    benchmark = si_score_size(tmp_path, OPTIONS, {})
    assert [path.stem for path in benchmark.passes[0].images.paths] == ["0", "1", "2", "3"]
    scores = benchmark.score({"images": logits_predicting([105, 0, 951, 951])})  # koala 105, lemon 951
    assert scores["top1"] == pytest.approx(75.0)
    assert scores["area"] == [{"value": 0.2, "top1": 100.0, "images": 2}, {"value": 0.5, "top1": 50.0, "images": 2}]


def test_si_score_without_metadata_scores_top1_from_the_class_folders(tmp_path):
    """The TensorFlow Datasets zips extract class folders only: the headline top-1, no curves, one note."""
    for image_id, name in (("0", "koala"), ("1", "koala"), ("2", "lemon")):
        write_image(tmp_path / "object_size" / name / f"{image_id}.jpg")
    benchmark = si_score_size(tmp_path / "object_size", OPTIONS, {})
    scores = benchmark.score({"images": logits_predicting([105, 951, 951])})  # koala 105, lemon 951
    assert scores == {"top1": pytest.approx(200 / 3), "images": 3}
    assert benchmark.curves == {}
    assert benchmark.notes == [f"si-score-size: no metadata.csv in {tmp_path / 'object_size'} (class folders only, as "
                               "the TensorFlow Datasets zips extract): top-1 over all images, without the per-factor "
                               "curves"]


@pytest.mark.parametrize("builder", [imagenet_val, occlusion])
def test_kaggle_imagenet_root_is_scored_on_val_with_the_solution_csv(tmp_path, builder):
    """Kaggle's CLS-LOC root: train/ in wnid folders, flat val/ labelled by LOC_val_solution.csv, unlabelled test/."""
    cls_loc = imagenet_layouts.kaggle(tmp_path)
    benchmark = builder(cls_loc, OPTIONS, {})
    paths = benchmark.passes[0].images.paths
    assert [path.name for path in paths] == [f"ILSVRC2012_val_{number:08d}.JPEG" for number in range(1, 6)]
    right = [imagenet_index()[wnid] for _, (_, wnid) in sorted(imagenet_layouts.FIRST_VAL.items())]
    assert right == [65, 970, 230, 809, 516]
    logits = {step.name: logits_predicting(right[:3] + [0, 0]) for step in benchmark.passes}
    assert benchmark.score(logits)["top1"] == pytest.approx(60.0)


def test_flat_val_with_the_devkit_ground_truth(tmp_path):
    imagenet_layouts.devkit(tmp_path)
    imagenet_layouts.flat_val(tmp_path / "val")
    benchmark = imagenet_val(tmp_path / "val", OPTIONS, {})
    assert benchmark.score({"images": logits_predicting([65, 970, 230, 809, 0])})["top1"] == pytest.approx(80.0)


def test_flat_val_without_ground_truth_names_the_files_it_reads(tmp_path):
    imagenet_layouts.flat_val(tmp_path / "val")
    with pytest.raises(UsageError, match="holds loose images; expected .* with LOC_val_solution.csv, or "
                                         "ILSVRC2012_validation_ground_truth.txt with meta.mat"):
        imagenet_val(tmp_path / "val", OPTIONS, {})


def test_real_reads_val_of_the_kaggle_root(tmp_path):
    cls_loc = imagenet_layouts.kaggle(tmp_path)
    benchmark = imagenet_real(cls_loc, OPTIONS, {})
    assert [path.parent.name for path in benchmark.passes[0].images.paths] == ["val"] * 5


def test_o_takes_its_in_distribution_images_from_val_when_test_is_unlabelled(tmp_path):
    o_wnids = subset_synsets("imagenet-o")
    write_image(tmp_path / "o" / o_wnids[0] / "a.jpg")
    write_image(tmp_path / "imagenet" / "train" / o_wnids[0] / "t.JPEG")
    write_image(tmp_path / "imagenet" / "val" / o_wnids[0] / "v.JPEG")
    write_image(tmp_path / "imagenet" / "test" / "ILSVRC2012_test_00000001.JPEG")
    benchmark = imagenet_o(tmp_path / "o", OPTIONS, {"imagenet-val": tmp_path / "imagenet"})
    assert [path.name for path in benchmark.passes[1].images.paths] == ["v.JPEG"]


def test_fashion_mnist_shifts_place_and_rotate_on_black():
    white = Image.new("RGB", (28, 28), (255, 255, 255))
    half = np.asarray(Place(0.5, 28)(white).convert("L"))  # (28, 28)
    assert (half > 0).sum() == 14 * 14 and half[7:21, 7:21].min() == 255
    moved = np.asarray(Place(1.0, 56, x=0.25)(white).convert("L"))  # (56, 56)
    assert (moved > 0).sum() == 28 * 28 and moved[14:42, 0:28].min() == 255
    turned = Rotate(45)(white)
    assert turned.getpixel((0, 0)) == (0, 0, 0) and turned.getpixel((14, 14)) == (255, 255, 255)
