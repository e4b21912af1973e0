"""First run: make sure a champion classifier exists before the first night is scored."""

from __future__ import annotations

from flows.retrain import retrain


def bootstrap(data_dir: str | None = None, preset: str = "quick") -> str:
    """Run the retrain flow once when the registry has no classifier champion; say what happened.

    The first champion is the fine-tuned transformer blended with the n-gram model (``ensemble``),
    fine-tuned from the compact base the repository ships (data/base/, reproduced by
    ``complaints pretrain``): a few minutes on two cores. Only without any base does it fall back
    to the n-gram baseline, since pretraining a base first takes far longer than a first run should.
    """
    from models import registry
    from models.settings import classifier_settings, default_base_dir
    from models.transformer_training import SHIPPED_BASE

    registry.configure_mlflow()
    name = classifier_settings().registered_name
    if registry.champion_exists(name):
        return f"已有冠军模型 {name}/{registry.alias_version(name)}，无需初始化。"
    has_base = any((d / "config.json").exists() for d in (default_base_dir(), SHIPPED_BASE))
    kinds = ["ensemble" if has_base else "baseline", "risk"]
    rows = retrain(data_dir=data_dir, preset=preset, kinds=kinds)
    promoted = [f"{r['model']} -> {r['version']}" for r in rows if r["promoted"]]
    return "初始化完成，冠军模型: " + ("；".join(promoted) if promoted else "无")
