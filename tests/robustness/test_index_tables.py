"""The class tables: timm's A/R/ReaL files, our ImageNet-O and SI-Score tables."""

from lut.robustness.tables import imagenet_index, real_labels, si_score_classes, subset_indices, subset_synsets


def test_subset_indices_are_the_positions_of_the_sorted_wnids_in_imagenet():
    index = imagenet_index()
    for name in ("imagenet-a", "imagenet-r", "imagenet-o"):
        wnids, indices = subset_synsets(name), subset_indices(name)
        assert len(wnids) == len(set(wnids)) == 200
        assert list(indices) == [index[wnid] for wnid in wnids]
        assert list(indices) == sorted(indices)  # ImageFolder's label order equals the mask order
    assert len(set(subset_synsets("imagenet-a")) & set(subset_synsets("imagenet-o"))) == 59
    assert subset_indices("imagenet-a")[:3] == (6, 11, 13)
    assert subset_indices("imagenet-r")[:3] == (1, 2, 4)


def test_real_labels_count_empty_and_multi_label_entries():
    labels = real_labels()
    assert len(labels) == 50000
    assert sum(1 for entry in labels if not entry) == 3163
    assert sum(1 for entry in labels if len(entry) > 1) == 7443


def test_si_score_classes_map_names_to_imagenet_indices():
    classes = si_score_classes()
    assert len(classes) == 112
    assert classes["koala"] == 105 and classes["pitcher (container)"] == 725 and classes["toilet paper"] == 999
