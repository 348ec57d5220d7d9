
import pytest

from lut.config import build_config
from lut.errors import UsageError
from lut.evaluation.config import (
    FinetuneConfig,
    LinprobeConfig,
    check_eval_config,
    eval_recipe_names,
    resolve_eval_config,
)


def test_bundled_recipes():
    assert eval_recipe_names("finetune") == ["mae_vit_base", "small", "vit_base", "vit_large", "vit_small"]
    assert eval_recipe_names("linprobe") == ["imagenet", "small"]
    lut_base = resolve_eval_config(FinetuneConfig, "finetune", "vit_base", {})
    assert (lut_base.blr, lut_base.layer_decay, lut_base.drop_path, lut_base.epochs) == (1e-3, 0.75, 0.1, 100)
    assert lut_base.batch_size * lut_base.accum_iter * 8 == 1024
    mae_base = resolve_eval_config(FinetuneConfig, "finetune", "mae_vit_base", {})
    assert (mae_base.blr, mae_base.layer_decay) == (5e-4, 0.65)
    probe = resolve_eval_config(LinprobeConfig, "linprobe", "imagenet", {})
    assert (probe.epochs, probe.warmup_epochs, probe.blr, probe.weight_decay) == (90, 10, 0.1, 0.0)
    assert probe.batch_size * probe.accum_iter * 8 == 16384
    for kind, config in (("finetune", FinetuneConfig), ("linprobe", LinprobeConfig)):
        for name in eval_recipe_names(kind):
            resolve_eval_config(config, kind, name, {})


def test_overrides_and_their_errors(tmp_path):
    config = resolve_eval_config(LinprobeConfig, "linprobe", "small", {"epochs": "3", "pools": ["mean"]})
    assert (config.epochs, config.pools, config.img_size) == (3, ["mean"], 0)  # 0: the checkpoint's
    with pytest.raises(UsageError, match="did you mean epochs"):
        build_config({"epoch": 3}, FinetuneConfig)
    with pytest.raises(UsageError, match="not one of fresh, pretrained"):
        build_config({"fc_norm_init": "random"}, FinetuneConfig)
    with pytest.raises(UsageError, match="no finetune recipe 'nope'"):
        resolve_eval_config(FinetuneConfig, "finetune", "nope", {})
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("epochs: 7\n")
    assert resolve_eval_config(FinetuneConfig, "finetune", str(recipe), {}).epochs == 7


def test_every_default_is_in_range():
    check_eval_config(FinetuneConfig())
    check_eval_config(LinprobeConfig())


def test_a_config_built_in_python_is_checked_too():
    with pytest.raises(UsageError, match="config key mixup: -1.0 must be at least 0.0"):
        check_eval_config(FinetuneConfig(mixup=-1.0))


@pytest.mark.parametrize(
    ("config", "values", "message"),
    [
        (LinprobeConfig, {"accum_iter": 0}, "config key accum_iter: 0 must be at least 1"),
        (LinprobeConfig, {"momentum": 1.0}, "config key momentum: 1.0 must be below 1.0"),
        (LinprobeConfig, {"logistic_iterations": 0}, "config key logistic_iterations: 0 must be at least 1"),
        (FinetuneConfig, {"layer_decay": 0}, "config key layer_decay: 0.0 must be above 0.0"),
        (FinetuneConfig, {"crop_pct": 1.5}, "config key crop_pct: 1.5 must be at most 1.0"),
        (FinetuneConfig, {"auto_augment": "rand-q9"}, "config key auto_augment: 'rand-q9' is not a timm augmentation"),
    ],
)
def test_out_of_range_settings_are_refused_when_resolved(config, values, message):
    kind = "finetune" if config is FinetuneConfig else "linprobe"
    with pytest.raises(UsageError) as error:
        resolve_eval_config(config, kind, "small", values)
    assert str(error.value).startswith(message)


def test_valid_augmentation_policies_pass():
    for policy in ("", "rand-m9-mstd0.5-inc1", "augmix-m5", "v0"):
        check_eval_config(FinetuneConfig(auto_augment=policy))


def test_the_checkpoint_path_is_stored_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = resolve_eval_config(LinprobeConfig, "linprobe", "small", {"checkpoint": "runs/demo/last.pth"})
    assert config.checkpoint == str(tmp_path / "runs" / "demo" / "last.pth")
