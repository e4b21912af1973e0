"""First run: make sure a champion classifier exists before the first night is scored."""

from __future__ import annotations

from flows.retrain import retrain


def bootstrap(data_dir: str | None = None, preset: str = "quick") -> str:
    """Run the retrain flow once when the registry has no classifier champion; say what happened.

    The transformer joins only when its compact base is already pretrained: pretraining it first
    takes well over ten minutes on two cores, too long for a first run; the weekly retrain (or
    ``complaints retrain``) trains it later and promotes it if it beats the baseline.
    """
    from models import registry
    from models.settings import classifier_settings, default_base_dir

    registry.configure_mlflow()
    name = classifier_settings().registered_name
    if registry.champion_exists(name):
        return f"已有冠军模型 {name}/{registry.alias_version(name)}，无需初始化。"
    kinds = ["baseline", "risk"]
    if (default_base_dir() / "config.json").exists():
        kinds.insert(1, "transformer")
    rows = retrain(data_dir=data_dir, preset=preset, kinds=kinds)
    promoted = [f"{r['model']} -> {r['version']}" for r in rows if r["promoted"]]
    return "初始化完成，冠军模型: " + ("；".join(promoted) if promoted else "无")
