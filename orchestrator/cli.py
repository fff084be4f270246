"""`python -m orchestrator <command> ...` (robot-sweeps): the commands, their refusals and exit codes (the usage text:
orchestrator/usage.py).

Each command imports the project's modules it needs inside its own function: a command loads only its own
dependencies, so `--help`, `report` and `push` load neither torch nor Ray Train (tests/unit/test_import_cost.py) and a
refusal comes before Ray and torch load."""

from __future__ import annotations

import json
import os
import shlex
import sys
import threading
import warnings
from pathlib import Path

from orchestrator.errors import StorageFull, UserError, problem, raise_if
from orchestrator.experiment_layout import log_file
from orchestrator.usage import USAGE


def main(argv: list[str] | None = None) -> None:
    """The console script: run the command, stop the Ray it started, exit with its code."""
    _leave(run(list(sys.argv[1:] if argv is None else argv)))


def run(argv: list[str], handle_signals: bool = True) -> int:
    """Run one command line in this process and return its exit code (0, 1, 2 for bad input, 130 interrupted).
    `handle_signals`: Ctrl-C, SIGINT and SIGTERM stop the command cleanly (the console script's behaviour); an
    embedding process (a notebook, the tests) that keeps its own handlers passes False."""
    argv = list(argv)
    # A warning of ours (a constant feature in the stats, ...) is a note for the user: once, as one line, without
    # the line of our source code Python's default format adds
    warnings.simplefilter("once", UserWarning)
    warnings.showwarning = _note_once  # (a library's own filters can let one through twice: the text decides)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command in ("sweep", "train", "eval"):
        from orchestrator.runtime import interrupts  # (the commands that start Ray only: see the module docstring)
        from orchestrator.terminal import take_verbose_flag, verbose

        rest = take_verbose_flag(rest)  # --verbose: Ray's own output too (worker logs, Tune's status table)
        if handle_signals:  # Ctrl-C, SIGINT, SIGTERM: stop cleanly, exit 130, say how to resume
            interrupts.install(quiet=not verbose())
    commands = {
        "sweep": cmd_sweep,
        "train": cmd_train,
        "eval": cmd_eval,
        "dataset": cmd_dataset,
        "push": cmd_push,
        "report": cmd_report,
    }
    code = 0
    try:
        if command not in commands:
            raise UserError(problem("command", f"unknown; one of {sorted(commands)}", command), "bad command line")
        if command in ("sweep", "train", "eval", "dataset") and any(a in ("--help", "-h") for a in rest):
            # (here: the help text loads only for --help) every field, from the config dataclasses
            from orchestrator.help import command_help

            command_help(command, rest)
        else:
            commands[command](rest)
    except UserError as e:
        print(e.render(), file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print(_interrupted(command, rest), file=sys.stderr)
        code = 130
    except StorageFull as e:
        print(f"error: {e}:\n  {_again(command, rest, '--tune.resume=true')}", file=sys.stderr)
        code = 1
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
        code = e.code if isinstance(e.code, int) else 1
    return code


_NOTED: set[str] = set()


def _note_once(message, category, filename, lineno, file=None, line=None) -> None:
    """warnings.showwarning for the commands: `warning: <message>`, one line, each text once per process."""
    text = f"warning: {message}"
    if text not in _NOTED:
        _NOTED.add(text)
        print(text, file=file or sys.stderr)


def _again(command: str, rest: list[str], flag: str) -> str:
    """The command line that continues `command` with `flag` (replacing an earlier value of it)."""
    kept = [a for a in rest if not a.startswith(flag.split("=")[0] + "=")]
    return shlex.join([os.path.basename(sys.executable), "-m", "orchestrator", command, *kept, flag])


def _interrupted(command: str, rest: list[str]) -> str:
    """What an interrupted command kept, and the command line that continues it."""

    def again(flag: str) -> str:
        return _again(command, rest, flag)

    if command == "sweep":
        return (
            "interrupted: no baseline and no best/ were made; finished trials and every checkpoint are kept.\n"
            f"resume (finished trials are not rerun, interrupted ones continue from their last checkpoint):\n"
            f"  {again('--tune.resume=true')}"
        )
    if command == "train":
        return (
            "interrupted: every checkpoint written so far is kept.\n"
            f"resume from the last one:\n  {again('--resume=true')}"
        )
    return "interrupted: nothing was written"


def _leave(code: int) -> None:
    """Stop the Ray this command started (bounded), then exit without interpreter teardown: on this 2-core machine a
    driver sometimes spun forever in Ray's C++ teardown after its work was done and written (seen twice)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if "ray" in sys.modules:
        import ray  # (already loaded by the command: only then is there a Ray to stop)

        if ray.is_initialized():
            stopper = threading.Thread(target=ray.shutdown, daemon=True)
            stopper.start()
            stopper.join(timeout=60)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cmd_sweep(args: list[str]) -> None:
    if not args or args[0].startswith("--") and args[0] not in ("--help", "-h"):
        raise UserError(
            problem("search space", "give the search-space file first, e.g. search_spaces/act.py"), "bad command line"
        )
    if args[0] in ("--help", "-h"):
        print(USAGE)
        return
    from orchestrator.sweep.recipe import sweep  # (here, not at the top: `--help` and `report` load no Ray, no torch)

    sweep(args[0], [a for a in args[1:] if a != "--dry-run"], dry="--dry-run" in args)


def cmd_train(args: list[str]) -> None:
    """One run: the same train loop as a sweep's trial, without a search space."""
    from orchestrator.configs.parsing import parse_train_args  # (here: see the module docstring)

    cfg = parse_train_args([a for a in args if a != "--dry-run"])
    if "--dry-run" in args:
        _dry_run_train(cfg)
        return
    # (after the dry run and the config's refusals: torch and Ray Train load only for a run)
    from orchestrator.preflight import check_hub, dataset_that_fits
    from orchestrator.runtime.ray_start import connect_ray, link_ray_logs, local_resource_problems
    from orchestrator.search.fine_tuning import fine_tuning_problems
    from orchestrator.terminal import print_reports
    from trainables.trial import fit_trainer

    if cfg.dataset.root:  # the workers run in their own folders: they get the folder the user meant
        cfg.dataset.root = str(Path(cfg.dataset.root).expanduser().resolve())
    out = cfg.resolved_output_dir().resolve()
    if out.exists() and not cfg.resume:
        raise UserError(
            problem(
                "output_dir",
                f"{out} already exists: pass --resume=true to continue that run, or "
                "choose another --output_dir (nothing was changed)",
                str(out),
            )
        )
    check_hub(cfg)
    raise_if(local_resource_problems(cfg.resources, cfg.policy.device), "resources this machine cannot provide")
    if cfg.wandb.enable and cfg.wandb.dir is None:
        cfg.wandb.dir = str(out)
    dataset_that_fits(cfg)
    raise_if(fine_tuning_problems(cfg.policy, {}), "the policy cannot start from its saved weights")
    connect_ray()
    link_ray_logs(out)
    result = fit_trainer(
        cfg,
        run_name=out.name,
        storage=str(out.parent),
        report_to_tune=False,
        on_report=print_reports(out / log_file("train")),
    )
    if result.error:
        raise SystemExit(f"training failed: {result.error}")
    print(f"done: {out} (last checkpoint: {result.checkpoint.path if result.checkpoint else None})")


def _dry_run_train(cfg) -> None:
    """`train --dry-run`: print the concrete config and build its policy on CPU; no Ray, no dataset, no training."""
    from orchestrator.configs.parsing import encode  # (here: the policy's torch loads for a dry run only)
    from orchestrator.policies.factory import make_policy

    features = {**cfg.policy.input_features, **cfg.policy.output_features} or cfg.env.features()
    try:
        n_params = sum(p.numel() for p in make_policy(cfg.policy, features, stats=None).parameters())
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001  (a policy that cannot be built is reported, not raised)
        raise UserError(problem("policy", f"building the policy failed: {type(e).__name__}: {e}")) from None
    print(json.dumps(encode(cfg), indent=2))
    print(
        f"dry run: the config is valid and builds a {cfg.policy.type} policy with {n_params:,} parameters "
        f"({'the policy' if cfg.policy.input_features else 'the env'}'s features); nothing was trained"
    )


def cmd_eval(args: list[str]) -> None:
    """A saved policy in the real simulator, with the sweep's asynchronous evaluator actors."""
    from orchestrator.evaluate import evaluate  # (here: see the module docstring)

    evaluate(args)


def cmd_push(args: list[str]) -> None:
    """Publish an experiment's best/ (its model card naming the repo) or a policy folder to the Hub."""
    from orchestrator.publish.push import push_from_args  # (here: `push` loads no torch, no Ray Train)

    push_from_args(args)


def cmd_report(args: list[str]) -> None:
    """Rebuild an experiment's HTML report from its folder: finished, running, or a copy."""
    from orchestrator.report.command import report_from_args  # (here: `report` loads no torch, no Ray Train)

    report_from_args(args)


def cmd_dataset(args: list[str]) -> None:
    if not args or args[0] != "record":
        raise UserError(problem("dataset", "the subcommand is `record`", args[0] if args else None), "bad command line")
    from orchestrator.datasets.record_cli import record_from_args  # (here: see the module docstring)

    record_from_args(args[1:])
