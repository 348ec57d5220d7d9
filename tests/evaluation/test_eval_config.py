import pytest

from lut.config import build_config
from lut.errors import UsageError
from lut.evaluation.config import (
    FinetuneConfig,
    LinprobeConfig,
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
    assert (config.epochs, config.pools, config.img_size) == (3, ["mean"], 32)
    with pytest.raises(UsageError, match="did you mean epochs"):
        build_config({"epoch": 3}, FinetuneConfig)
    with pytest.raises(UsageError, match="not one of fresh, pretrained"):
        build_config({"fc_norm_init": "random"}, FinetuneConfig)
    with pytest.raises(UsageError, match="no finetune recipe 'nope'"):
        resolve_eval_config(FinetuneConfig, "finetune", "nope", {})
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("epochs: 7\n")
    assert resolve_eval_config(FinetuneConfig, "finetune", str(recipe), {}).epochs == 7
