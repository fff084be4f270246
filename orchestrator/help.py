"""`--help` for every command: the usage line, then every field the command reads, generated from the config
dataclasses (dotted name, type, default and the comment beside the field in the source, orchestrator/configs/docs.py),
grouped by section. The other flags on the command line apply first, so `--policy.type=diffusion --help` lists
Diffusion's fields with its defaults, `train --config_path=cfg.yaml --help` shows that file's values, and
`sweep search_spaces/act.py --help` shows the sweep's base values and what each searched field samples.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import textwrap
from typing import Any

import draccus

from orchestrator.configs.docs import field_comments, type_name
from orchestrator.configs.fields import field_types, is_choice, section_class, value_at
from orchestrator.configs.parsing import build_config, check_types, encode, merge, parse_cli, parse_train_args
from orchestrator.configs.tune import TuneConfig
from orchestrator.datasets.record_cli import RecordConfig
from orchestrator.errors import raise_if
from orchestrator.usage import USAGE

HELP_FLAGS = ("--help", "-h")
INDENT = 8
PLUGIN_FLAG = (
    "discover_packages_path",
    "MODULE",
    "import this package of yours first (and its submodules): the policy/env types it registers become "
    "choices here (README: Bring your own policy or env)",
)


def command_help(command: str, args: list[str]) -> None:
    """Print the help of `command` (its other flags applied) to stdout."""
    args = [a for a in args if a not in HELP_FLAGS and a != "--dry-run"]
    helpers = {"train": _train, "sweep": _sweep, "eval": _eval, "dataset": _dataset}
    if command not in helpers:
        print(usage(command))
        return
    text = "\n".join(helpers[command](args)).rstrip()
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `--help | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def usage(command: str) -> str:
    """The usage line(s) of `command`, from the CLI's own usage text."""
    lines = [line.strip() for line in USAGE.splitlines() if line.strip().split(" ")[:1] == [command]]
    return (
        "\n".join(f"usage: python -m orchestrator {line}" for line in lines)
        or f"usage: python -m orchestrator {command}"
    )


def _width() -> int:
    return max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, _width(), initial_indent=" " * INDENT, subsequent_indent=" " * INDENT) if text else []


def _show(value: Any) -> str:
    """A default as it is written on the command line."""
    value = draccus.encode(value) if not isinstance(value, (str, int, float, bool, type(None))) else value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return value if isinstance(value, str) else json.dumps(value)


def _flag(dotted: str, ftype: Any, value: Any, comment: str, note: str = "") -> list[str]:
    head = f"  --{dotted}: {type_name(ftype)} = {_show(value)}"
    return [head + (f"   [{note}]" if note else ""), *_wrap(comment)]


def _extra(dotted: str, metavar: str, comment: str) -> list[str]:
    return [f"  --{dotted}={metavar}", *_wrap(comment)]


def _first_line(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def config_fields(
    cfg: Any,
    prefix: str = "",
    title: str = "",
    comment: str = "",
    searched: dict | None = None,
    ties: dict | None = None,
) -> list[str]:
    """Help lines of dataclass instance `cfg`: its own fields first, then one block per section, recursively.
    `searched` {dotted: description} marks sampled fields; `ties` {target: source} marks tied ones."""
    searched, ties = searched or {}, ties or {}
    cls = type(cfg)
    types, comments = field_types(cls), field_comments(cls)
    leaves, sections = [], []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            sections.append((f.name, value))
        else:
            leaves.append(f.name)
    name = prefix.rstrip(".")
    out: list[str] = []
    if title or name:
        doc = _first_line(cls.__doc__) if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}(") else ""
        out += [
            "",
            *textwrap.wrap(
                f"{title or name}" + (f" - {comment}" if comment else ""), _width(), subsequent_indent="    "
            ),
        ]
        out += textwrap.wrap(doc, _width(), initial_indent="    ", subsequent_indent="    ") if doc else []
    base = _choice_base(cls)
    if is_choice(base):
        known = sorted(base.get_known_choices())
        note = f"   [searched: {searched[prefix + 'type']}]" if prefix + "type" in searched else ""
        out += [
            f"  --{prefix}type: str = {cfg.type}{note}",
            *_wrap(f"one of {', '.join(known)}; add --{prefix}type=NAME --help to list that type's fields"),
        ]
        if name in ("policy", "env"):
            out += _extra(f"{prefix}{PLUGIN_FLAG[0]}", PLUGIN_FLAG[1], PLUGIN_FLAG[2])
    for field_name in leaves:
        dotted = f"{prefix}{field_name}"
        ftype, value = types[field_name], getattr(cfg, field_name)
        note = f"searched: {searched[dotted]}" if dotted in searched else ""
        note = note or (f"tied to {ties[dotted]}" if dotted in ties else "")
        section = section_class(ftype)
        if section is not None and is_choice(section) and value is None:
            note = note or f"a section: set --{dotted}.type to one of {', '.join(sorted(section.get_known_choices()))}"
        out += _flag(dotted, ftype, value, comments[field_name], note)
    for field_name, value in sections:
        out += config_fields(
            value, f"{prefix}{field_name}.", comment=comments[field_name], searched=searched, ties=ties
        )
    return out


def _choice_base(cls: type) -> type:
    """The registry class a chosen config class belongs to (PolicyConfig for ACTConfig), else `cls`."""
    return next((k for k in cls.__mro__ if "_choice_registry" in vars(k)), cls)


def _train(args: list[str]) -> list[str]:
    cfg = parse_train_args(args, validate=False)
    return [
        usage("train"),
        "",
        "One training run: the same train loop as a sweep's trial. Every field below is a flag; the defaults shown",
        "include the flags given with --help (e.g. --policy.type=diffusion --help lists Diffusion's fields).",
        "",
        "flags:",
        *_extra(
            "config_path",
            "FILE_OR_HUB_ID",
            "start from this JSON/YAML config, or LeRobot's "
            "train_config.json (a file, a folder holding one, or a Hub model repo id); flags override it",
        ),
        *_extra(
            "policy.path",
            "FOLDER_OR_HUB_ID",
            "fine-tune a saved policy (ours or LeRobot's): its config and "
            "weights; --policy.* flags override its config",
        ),
        "  --dry-run",
        *_wrap("print the concrete config and build its policy; train nothing"),
        *config_fields(cfg, title="run", comment="the run itself"),
    ]


def _sweep(args: list[str]) -> list[str]:
    head = [usage("sweep"), ""]
    if not args or args[0].startswith("--"):
        return [
            *head,
            "Give the search-space file first (e.g. sweep search_spaces/act.py --help) to list its base "
            "config's fields",
            "and what each searched field samples. How to search (--tune.*):",
            *config_fields(TuneConfig(), "tune."),
        ]
    # Ray Tune only for the help of a search-space file: every other --help stays without it
    from orchestrator.search.space import describe
    from orchestrator.sweep.prepare import sweep_layers

    path = args[0]
    sweep, cli, tune_cfg, space, _, base = sweep_layers(path, args[1:])
    cfg = build_config(base, [cli], validate=False)
    for target, source in sweep.ties.items():  # the baseline's values, as after sampling
        *parents, leaf = target.split(".")
        setattr(value_at(cfg, ".".join(parents)) if parents else cfg, leaf, value_at(cfg, source))
    searched = {dotted: describe(dist) for dotted, dist in space.items()}
    searched, other_types = _conditional_marks(searched, space, cfg)
    lines = [
        *head,
        f"The sweep of {path}: its base config's fields, with the baseline's values as defaults; [searched: ...] marks",
        "the fields each trial samples. Every field is a flag: a flag fixes a "
        "searched field. Flags given with --help apply.",
        "",
        "flags:",
        "  --dry-run",
        *_wrap("sample a few configs and build their policies; train nothing"),
        *config_fields(cfg, title="run", comment="the run itself", searched=searched, ties=sweep.ties),
        *config_fields(tune_cfg, "tune.", comment="how to search (Ray Tune)"),
    ]
    missing = sorted(set(searched) - set(_dotted_fields(cfg)) - {k for k in searched if k.endswith(".type")})
    if missing:
        lines += ["", "searched fields that this config does not have: " + ", ".join(missing)]
    for type_key, entries in other_types.items():
        lines += [
            "",
            f"searched when {type_key} is another type (the fields above are the baseline's type's):",
            *[f"  {k}: {v}" for k, v in entries.items()],
        ]
    return lines


def _conditional_marks(searched: dict, space: dict, cfg: Any) -> tuple[dict, dict]:
    """A conditional space (policy.type searched): the baseline's type's fields marked under their own names
    (`policy.dim_model` for policy.act.dim_model), the other types' listed apart, by type key."""
    from orchestrator.search.conditional import condition_of  # Ray Tune: only a search-space file's help gets here

    marks: dict[str, str] = {}
    others: dict[str, dict[str, str]] = {}
    for key, text in searched.items():
        cond = condition_of(space, key)
        if key.endswith(".type") and key in space and any(condition_of(space, k) for k in space):
            marks[key] = text
            continue
        if cond is None:
            marks[key] = text
            continue
        type_key, kind = cond
        field = type_key[: -len(".type")]
        if getattr(value_at(cfg, field), "type", None) == kind:
            marks[f"{field}.{key[len(field) + len(kind) + 2 :]}"] = f"{text} when {type_key}={kind}"
        else:
            others.setdefault(type_key, {})[key] = text
    return marks, others


def _dotted_fields(cfg: Any, prefix: str = "") -> list[str]:
    out = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        out += _dotted_fields(value, f"{prefix}{f.name}.") if dataclasses.is_dataclass(value) else [prefix + f.name]
    return out


def _eval(args: list[str]) -> list[str]:
    cli, _ = parse_cli(args)
    section = cli.get("policy") if isinstance(cli.get("policy"), dict) else {}
    cli.pop("expert", None)
    if section:  # --policy.path is read when evaluating; for --help only the env and eval flags apply
        cli.pop("policy")
    cfg = build_config(None, [cli], validate=False)
    return [
        usage("eval"),
        "",
        "A saved policy (or the env's scripted expert) in the simulator, with a sweep's asynchronous evaluator actors.",
        "The env and eval fields default to the policy's train_config.json, else to the values below.",
        "",
        "flags:",
        *_extra(
            "policy.path",
            "FOLDER_OR_HUB_ID",
            "the saved policy to evaluate (e.g. <experiment>/best, a LeRobot policy folder or a Hub model id)",
        ),
        *_extra("expert", "true", "evaluate the env's scripted expert instead of a policy, on the same episodes"),
        *_extra("output_dir", "DIR", "also write eval_info.json (the metrics) into this folder"),
        *_extra(
            "resources.cpus_per_eval_actor",
            _show(cfg.resources.cpus_per_eval_actor),
            field_comments(type(cfg.resources))["cpus_per_eval_actor"],
        ),
        *config_fields(cfg.env, "env.", comment=field_comments(type(cfg))["env"]),
        *config_fields(cfg.eval, "eval.", comment=field_comments(type(cfg))["eval"]),
    ]


def _dataset(args: list[str]) -> list[str]:
    if not args or args[0] != "record":
        return [usage("dataset"), "", "Subcommands: record (python -m orchestrator dataset record --help)"]
    cli, _ = parse_cli(args[1:])
    data = merge(encode(RecordConfig()), cli, RecordConfig)
    raise_if(check_types(data, RecordConfig))
    cfg = draccus.decode(RecordConfig, data)
    return [
        usage("dataset"),
        "",
        "Record the env's scripted expert as a LeRobotDataset.",
        *config_fields(cfg, title="record", comment="the recording"),
    ]
