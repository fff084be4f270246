"""From layers of user input to one typed, validated TrainPipelineConfig.

Layers, lowest first: the base (the dataclass defaults, or a search-space file's base config), the `--config_path`
file (JSON or YAML, or LeRobot's train_config.json: orchestrator/configs/lerobot_train_config.py), sampled sweep
values, then dotted CLI flags (`--policy.chunk_size=20`). A choice field
(`policy`, `env`, `optimizer`, `scheduler`) switches class when a layer names another `type`; otherwise a layer's
fields are merged into the lower layer's. draccus decodes the merged dict into dataclasses.

Training presets differ from LeRobot on purpose: with `use_policy_training_preset=true` the policy's preset
optimizer and scheduler are only the *defaults*; every optimizer/scheduler field the user sets (CLI, file, sweep)
wins over the preset, field by field.
"""

from __future__ import annotations

import copy
import difflib
import json
from typing import Any

import draccus
import yaml

from orchestrator.configs.fields import check_value, choice_class, field_types, is_choice, section_class
from orchestrator.configs.lerobot_mapping import convert
from orchestrator.configs.lerobot_note import print_note
from orchestrator.configs.lerobot_train_config import (
    LEROBOT_ONLY_KEYS,
    config_path_layer,
    is_lerobot_train_config,
    read_config_path,
)
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.errors import Problem, UserError, problem, raise_if
from orchestrator.plugins import take_discover_keys
from orchestrator.policy_source import expand_policy_path

PRESET_FIELDS = ("optimizer", "scheduler")
# A search-space base dict may carry the sub-space bases of a conditional space here (orchestrator/search/conditional.py);
# it is not a config field, and building a config ignores it.
BRANCHES = "_branches"


def parse_cli(args: list[str]) -> tuple[dict, str | None]:
    """`--a.b=value` / `--a.b value` flags -> (nested dict of raw values, config_path or None). The packages named
    by `--*.discover_packages_path` are imported here (orchestrator/plugins.py) and their keys dropped."""
    flat: dict[str, Any] = {}
    bad: list[Problem] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or arg == "--":
            bad.append(problem(arg, "expected a flag like --field.subfield=value"))
            i += 1
            continue
        key, sep, value = arg[2:].partition("=")
        if not sep:
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                value, i = args[i + 1], i + 1
            else:
                bad.append(problem(key, "is missing a value (write --field=value)"))
        flat[key.replace("-", "_") if key != "config_path" else key] = _raw_value(value)
        i += 1
    raise_if(bad, "invalid command line")
    config_path = flat.pop("config_path", None)
    return take_discover_keys(unflatten(flat)), config_path


def _raw_value(text: str) -> Any:
    """Keep CLI values as strings for draccus, except YAML collections and null."""
    if text.strip()[:1] in "[{" or text.strip().lower() in ("null", "none", "~"):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return text
    return text


def unflatten(flat: dict[str, Any]) -> dict:
    nested: dict = {}
    for dotted, value in flat.items():
        node = nested
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(problem(dotted, "sets a field inside a value that is not a config section"))
        node[leaf] = value
    return nested


def flatten(nested: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in nested.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value and not _is_leaf_dict(dotted):
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _is_leaf_dict(dotted: str) -> bool:
    """Dict-valued fields that are values, not sections."""
    return dotted.split(".")[-1] in ("normalization_mapping", "input_features", "output_features")


def encode(cfg: Any) -> dict:
    """A config dataclass -> plain JSON-able dict (choice fields carry their `type`)."""
    data = json.loads(json.dumps(draccus.encode(cfg)))
    if isinstance(cfg, draccus.ChoiceRegistry):
        data = {"type": cfg.get_choice_name(type(cfg)), **data}  # what each registry's `type` property returns
    return data


def build_config(
    base: dict | None, layers: list[dict], cls: type = TrainPipelineConfig, validate: bool = True
) -> TrainPipelineConfig:
    """Merge `layers` over `base` (default: the class defaults), resolve presets, decode and validate. Packages named
    by `discover_packages_path` keys in any of them are imported first (orchestrator/plugins.py)."""
    base = encode(cls()) if base is None else take_discover_keys(copy.deepcopy(base))
    base.pop(BRANCHES, None)
    layers = [_with_policy_path(take_discover_keys(layer)) for layer in layers]
    merged = copy.deepcopy(base)
    for layer in layers:
        merged = merge(merged, {k: v for k, v in layer.items() if k not in PRESET_FIELDS}, cls)
    problems = check_types(merged, cls)
    raise_if(problems)
    if cls is TrainPipelineConfig:
        _device_request(merged, layers)
    _resolve_presets(merged, base, layers, cls)
    problems = check_types(merged, cls)
    raise_if(problems)
    cfg = draccus.decode(cls, merged)
    return cfg.validate() if validate else cfg


def _device_request(merged: dict, layers: list[dict]) -> None:
    """LeRobot's `policy.device` names where the policy trains; here Ray Train places it, on the device
    `resources.use_gpu` reserves. So a device the user asks for (a flag, their config file, their search-space file)
    sets that field: cuda (or cuda:N) a GPU, cpu none; another device, or one that contradicts an explicit
    resources.use_gpu, is refused. (A device recorded in a saved policy's config.json is not a request:
    orchestrator/policy_source.py clears it.)"""
    device = (merged.get("policy") or {}).get("device")
    if device is None:
        return
    kind = str(device).split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise UserError(
            problem(
                "policy.device",
                "must be cpu or cuda: Ray Train puts the policy on the device "
                "resources.use_gpu reserves (true: a GPU per worker)",
                device,
            )
        )
    resources = merged.setdefault("resources", {})
    explicit = [
        layer["resources"]["use_gpu"]
        for layer in layers
        if isinstance(layer.get("resources"), dict) and "use_gpu" in layer["resources"]
    ]
    wants_gpu = kind == "cuda"
    if explicit and draccus.decode(bool, explicit[-1]) != wants_gpu:
        raise UserError(
            problem(
                "policy.device",
                f"contradicts resources.use_gpu = {explicit[-1]}: the device "
                "follows resources.use_gpu here; set one of them",
                device,
            )
        )
    resources["use_gpu"] = wants_gpu


def _with_policy_path(layer: dict) -> dict:
    """Expand `policy.path` (a saved policy folder or Hub id) into that policy's saved config."""
    if not isinstance(layer.get("policy"), dict) or "path" not in layer["policy"]:
        return layer

    return {**layer, "policy": expand_policy_path(layer["policy"])}


def _resolve_presets(merged: dict, base: dict, layers: list[dict], cls: type) -> None:
    """optimizer/scheduler = preset (if enabled) <- base's explicit value <- each layer's fields."""
    use_preset = draccus.decode(bool, merged.get("use_policy_training_preset", True))
    policy = draccus.decode(field_types(cls)["policy"], merged["policy"])
    for name in PRESET_FIELDS:
        ftype = field_types(cls)[name]
        value = encode(getattr(policy, f"{name}_preset")()) if use_preset else None
        for layer in [base, *layers]:
            if layer.get(name) is not None:
                value = merge_value(value, layer[name], ftype, name)
        merged[name] = value


def merge(lower: dict, upper: dict, cls: type) -> dict:
    """Merge `upper` into a copy of `lower`, both shaped like dataclass `cls`."""
    out = copy.deepcopy(lower)
    types = field_types(cls)
    for key, value in upper.items():
        out[key] = merge_value(out.get(key), value, types.get(key), key) if key in types else value
    return out


def merge_value(lower: Any, upper: Any, ftype: Any, name: str) -> Any:
    section = section_class(ftype)
    if section is None or not isinstance(upper, dict):
        return copy.deepcopy(upper)
    if is_choice(section):
        new_type = upper.get("type")
        if not isinstance(lower, dict) or (new_type is not None and new_type != lower.get("type")):
            lower = {"type": new_type} if new_type is not None else {}
        chosen = choice_class(section, upper.get("type", lower.get("type")))
        if chosen is None:
            out = dict(lower)
            out.update(upper)
            return out
        return merge(lower, upper, chosen)
    return merge(lower if isinstance(lower, dict) else {}, upper, section)


def check_types(data: Any, cls: type, path: str = "") -> list[Problem]:
    """Every problem of shape and type in `data` against dataclass `cls`: unknown fields, unknown choices, bad values."""
    if not isinstance(data, dict):
        return [problem(path.rstrip("."), f"must be a section of fields ({cls.__name__})", data)]
    if is_choice(cls):
        known = sorted(cls.get_known_choices())
        if data.get("type") is None:
            return [problem(f"{path}type", f"is required: one of {known}")]
        chosen = choice_class(cls, data["type"])
        if chosen is None:
            mine = (
                f" (a type from a package of yours: also pass --{path}discover_packages_path=<its module>)"
                if path in ("policy.", "env.")
                else ""
            )
            return [problem(f"{path}type", f"unknown choice; known: {known}{mine}", data["type"])]
        cls, data = chosen, {k: v for k, v in data.items() if k != "type"}
    types = field_types(cls)
    out: list[Problem] = []
    for key, value in data.items():
        dotted = f"{path}{key}"
        if key not in types:
            close = difflib.get_close_matches(key, list(types), n=1)
            hint = f"did you mean {path}{close[0]}? " if close else ""
            out.append(problem(dotted, f"unknown field; {hint}fields here: {sorted(types)}"))
            continue
        section = section_class(types[key])
        if section is not None and value is not None:
            out += check_types(value, section, dotted + ".")
        else:
            out += check_value(dotted, value, types[key])
    return out


def parse_train_args(args: list[str], validate: bool = True) -> TrainPipelineConfig:
    """The `train` command: defaults <- --config_path file <- CLI flags. The file may be LeRobot's train_config.json
    (a file, a folder holding one, or a Hub model repo id): see orchestrator/configs/lerobot_train_config.py.
    `validate=False` for `train --help`, which shows the fields before they are complete."""
    cli, config_path = parse_cli(args)
    layers = [config_path_layer(config_path)] if config_path else []
    return build_config(None, [*layers, cli], validate=validate)


def from_lerobot(path_or_repo: str) -> TrainPipelineConfig:
    """A TrainPipelineConfig from LeRobot's train_config.json (local file, folder or Hub model repo id), validated.

    For search-space files: `base = from_lerobot("lerobot/diffusion_pusht")`, then set distributions on its fields
    and pass it as `Sweep(base=base, ...)`. The optimizer and scheduler stay unset (None) when the file used the
    policy's training preset, so a sweep over `policy.optimizer_lr` still moves the learning rate.
    """
    data, source = read_config_path(path_or_repo)
    if not is_lerobot_train_config(data):
        raise UserError(
            problem(
                "config_path",
                "is not LeRobot's train_config.json (expected a `dataset` section and "
                f"LeRobot's run fields, e.g. {sorted(LEROBOT_ONLY_KEYS)[:4]})",
                source,
            )
        )
    converted = convert(data, source)
    print_note(converted.left_out, source, converted.differences)
    cfg = build_config(None, [converted.layer])
    for name in ("optimizer", "scheduler"):
        if converted.layer.get(name) is None:
            setattr(cfg, name, None)
    return cfg
