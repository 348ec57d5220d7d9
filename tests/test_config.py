"""The pre-training config: defaults, recipes, key=value overrides, validation and saving."""

import dataclasses

import pytest
import torch
import yaml

from lut.config import (
    PretrainConfig,
    build_config,
    load_recipe,
    parse_overrides,
    recipe_names,
    resolve_config,
    save_config,
)
from lut.errors import UsageError
from lut.training.pretrain_models import build_student


def test_defaults_are_the_released_lut_recipe():
    config = PretrainConfig()
    assert config.model == "lut_vit_base_patch16" and config.method == "lut"
    assert (config.img_size, config.patch_size) == (224, 0)
    assert (config.decoder_embed_dim, config.decoder_depth, config.decoder_num_heads) == (512, 8, 16)
    assert (config.head_hidden_dim, config.head_depth, config.head_norm, config.head_activation) == (4096, 2, "bn",
                                                                                                     "relu")
    assert config.mask_ratio == 0.75 and config.norm_pix_loss is True
    assert (config.mae_loss_weight, config.bc_loss_weight, config.teacher_momentum) == (1.0, 0.25, 0.996)
    assert (config.blr, config.lr, config.lr_rule, config.min_lr) == (1.5e-4, 0.0, "sqrt", 0.0)
    assert (config.weight_decay, config.adam_beta1, config.adam_beta2, config.clip_grad) == (0.05, 0.9, 0.95, 0.0)
    assert (config.epochs, config.warmup_epochs, config.accum_iter) == (1600, 40, 1)
    assert config.mean == [0.485, 0.456, 0.406] and config.std == [0.229, 0.224, 0.225]
    assert config.resume == "auto"


def test_list_defaults_are_not_shared_between_configs():
    first, second = PretrainConfig(), PretrainConfig()
    first.mean.append(1.0)
    assert second.mean == [0.485, 0.456, 0.406]


def test_method_is_read_off_the_model_name():
    assert build_config({"model": "mae_vit_large_patch16"}).method == "mae"


def test_demo_recipe_is_the_default_recipe():
    config = resolve_config(None, [])
    assert config == resolve_config("demo", [])
    assert config.model == "lut_vit_tiny_patch16"
    assert (config.img_size, config.patch_size, config.encoder_depth) == (28, 4, 6)
    assert config.data == "fashion-mnist"
    assert config.bc_loss_weight == 1.0
    # keys the recipe does not set keep their defaults
    assert config.mask_ratio == 0.75 and config.bc_loss == "cosine"


def test_overrides_are_parsed_as_yaml_values():
    values = parse_overrides(["epochs=10", "blr=1.5e-4", "norm_pix_loss=false", "mean=[0.5, 0.25, 0.125]",
                              "data=./my images", "resume="])
    assert values == {"epochs": 10, "blr": 1.5e-4, "norm_pix_loss": False, "mean": [0.5, 0.25, 0.125],
                      "data": "./my images", "resume": ""}


def test_overrides_win_over_the_recipe_and_get_the_field_types():
    config = resolve_config("demo", ["epochs=3", "warmup_epochs=1", "blr=1e-3", "norm_pix_loss=no",
                                     "mean=[0, 1, 0.5]", "batch_size=16.0", "model=mae_vit_tiny_patch16"])
    assert config.epochs == 3 and isinstance(config.epochs, int)
    assert config.warmup_epochs == 1.0 and isinstance(config.warmup_epochs, float)
    assert config.blr == 1e-3 and isinstance(config.blr, float)  # "1e-3" is a YAML string, coerced
    assert config.norm_pix_loss is False
    assert config.mean == [0.0, 1.0, 0.5] and all(isinstance(v, float) for v in config.mean)
    assert config.batch_size == 16 and isinstance(config.batch_size, int)
    assert config.method == "mae"


def test_override_without_equals_sign_is_refused():
    with pytest.raises(UsageError, match="expected key=value, got 'epochs'"):
        parse_overrides(["epochs"])


def test_unknown_key_names_the_close_match():
    with pytest.raises(UsageError, match=r"unknown config key 'mask_ration' \(did you mean mask_ratio"):
        build_config({"mask_ration": 0.6})
    with pytest.raises(UsageError, match=r"unknown config key 'bc_weight' \(did you mean bc_loss_weight"):
        resolve_config(None, ["bc_weight=1"])


def test_unknown_key_without_close_match_lists_valid_keys():
    with pytest.raises(UsageError, match=r"unknown config key 'zzz' \(did you mean .*\); valid keys: model, img_size"):
        build_config({"zzz": 1})


@pytest.mark.parametrize(
    ("key", "value"),
    [("epochs", "ten"), ("epochs", 2.5), ("epochs", True), ("blr", "fast"), ("blr", False), ("norm_pix_loss", 1),
     ("norm_pix_loss", "maybe"), ("mean", 0.5), ("mean", ["a", "b", "c"])],
)
def test_wrong_type_is_a_usage_error(key, value):
    with pytest.raises(UsageError, match=f"config key {key}: .* is not a valid"):
        build_config({key: value})


@pytest.mark.parametrize(("key", "value"), [("lr_rule", "cubic"), ("head_norm", "gn"), ("precision", "fp8"),
                                            ("head_activation", "tanh"), ("compile_mode", "reduce-overhead"),
                                            ("compile_mode", "max-autotune")])
def test_value_outside_the_choices_is_a_usage_error(key, value):
    with pytest.raises(UsageError, match=f"config key {key}: '{value}' is not one of"):
        build_config({key: value})


@pytest.mark.parametrize(("key", "value", "message"), [
    ("lr", float("nan"), "nan is not a finite number"), ("blr", float("inf"), "inf is not a finite number"),
    ("batch_size", 0, "0 must be at least 1"), ("train_samples", -5, "-5 must be at least 0"),
    ("mask_ratio", 1.0, "1.0 must be below 1.0"), ("mask_ratio", -0.1, "-0.1 must be at least 0.0"),
    ("teacher_momentum", 1.5, "1.5 must be at most 1.0"), ("bc_temperature", 0.0, "0.0 must be above 0.0"),
    ("adam_beta2", 1.0, "1.0 must be below 1.0"), ("epochs", 0, "0 must be at least 1"),
])
def test_value_outside_its_range_is_a_usage_error(key, value, message):
    with pytest.raises(UsageError) as error:
        build_config({key: value})
    assert str(error.value) == f"config key {key}: {message}"


def test_range_limits_themselves_are_accepted():
    config = build_config({"mask_ratio": 0.0, "teacher_momentum": 1.0, "train_samples": 0, "batch_size": 1})
    assert (config.mask_ratio, config.teacher_momentum, config.train_samples, config.batch_size) == (0.0, 1.0, 0, 1)


def test_unknown_recipe_is_a_usage_error():
    with pytest.raises(UsageError, match="no recipe 'lut_vit_gigantic'.*demo"):
        load_recipe("lut_vit_gigantic")


def test_recipe_file_that_is_not_a_mapping_is_a_usage_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(UsageError, match="expected a mapping"):
        load_recipe(str(path))
    path.write_text("model: [unclosed\n")
    with pytest.raises(UsageError, match="invalid YAML"):
        load_recipe(str(path))


def test_bundled_recipes():
    assert {"demo", "lut_vit_small", "lut_vit_base", "lut_vit_large", "mae_vit_base"} <= set(recipe_names())


@pytest.mark.parametrize("name", recipe_names())
def test_every_bundled_recipe_builds_a_config_and_its_model(name):
    config = resolve_config(name, [])
    with torch.device("meta"):
        student = build_student(config)
    assert student.method == config.method
    assert student.encoder.pos_embed.shape[1] == 1 + (config.img_size // student.patch_size) ** 2


def test_saved_config_reloads_to_an_equal_config(tmp_path):
    config = resolve_config("lut_vit_small", ["epochs=7", "mean=[0.1, 0.2, 0.3]", "data=/some/folder"])
    path = tmp_path / "config.yaml"
    save_config(config, path)
    assert build_config(yaml.safe_load(path.read_text())) == config
    # The saved file is itself a recipe.
    assert resolve_config(str(path), []) == config
    assert dataclasses.asdict(resolve_config(str(path), [])) == yaml.safe_load(path.read_text())


@pytest.mark.parametrize(
    ("name", "bc_weight"), [("lut_vit_small", 1.0), ("lut_vit_base", 0.25), ("lut_vit_large", 0.25)]
)
def test_imagenet_lut_recipes_follow_the_paper(name, bc_weight):
    config = resolve_config(name, [])
    assert config.batch_size * config.accum_iter * 8 == 4096  # 8 GPUs
    assert config.bc_loss_weight == bc_weight
    assert (config.blr, config.lr_rule, config.epochs, config.warmup_epochs) == (1.5e-4, "sqrt", 1600, 40)
    assert (config.mask_ratio, config.norm_pix_loss, config.teacher_momentum) == (0.75, True, 0.996)


def test_mae_recipe_uses_maes_rules():
    config = resolve_config("mae_vit_base", [])
    assert config.method == "mae"
    assert (config.lr_rule, config.crop, config.rrc_scale_min, config.norm_pix_loss) == ("linear", "rrc", 0.2, True)
    assert config.batch_size * config.accum_iter * 8 == 4096
