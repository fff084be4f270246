"""The per-worker training loop: one readable recipe. Ray appears only at its edges (context, prepare_model,
report, checkpoint); everything between is plain PyTorch you can follow top to bottom."""

from __future__ import annotations

import time

_IMPORT_START = time.time()  # torch and the dataset/policy code: part of a trial's start-up

import itertools
import json
import logging
import random
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import ray.train
import ray.train.torch
import torch
from torch.utils.data import DataLoader, DistributedSampler, Sampler, Subset

from orchestrator import metrics as M
from orchestrator.configs.parsing import build_config
from orchestrator.datasets.meta import DatasetMeta
from orchestrator.datasets.reader import LeRobotDataset
from orchestrator.datasets.record import ensure_dataset
from orchestrator.datasets.split import make_datasets
from orchestrator.datasets.stats import with_imagenet_stats
from orchestrator.errors import UserError, problem
from orchestrator.plugins import import_user_packages
from orchestrator.policies.base import NORMALIZER_PREFIX
from orchestrator.policies.costs import policy_costs, single_observation
from orchestrator.policies.factory import make_policy
from orchestrator.policy_source import WEIGHTS_NAME
from trainables import phase_log
from trainables.checkpointing import load_training_state, rng_state, save_checkpoint, weights_digest
from trainables.metrics_log import LogLine, WandbRun

_IMPORT_END = time.time()

VAL_BATCHES = 8  # batches of held-out episodes behind each val/loss
logger = logging.getLogger("robot_sweeps.train")  # into Ray's worker logs (the driver prints from the reports)


def train_loop_per_worker(loop_config: dict) -> None:
    import_user_packages()  # the user's own policy/env packages, named by the driver (orchestrator/plugins.py)
    cfg = build_config(loop_config["train_config"], [])
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    run = loop_config.get("run_name", "run")
    mark = partial(phase_log.mark, run) if rank == 0 else lambda phase: None
    if rank == 0:
        phase_log.mark_entry(run, "loop", _IMPORT_START, _IMPORT_END)
    torch.set_num_threads(max(1, int(cfg.resources.cpus_per_worker)))
    seed_everything(cfg.seed + rank)
    device = ray.train.torch.get_device()

    # Data: this rank's shard of the dataset, with the temporal windows the policy needs.
    meta = DatasetMeta.load(ensure_dataset(cfg.dataset, cfg.env))  # recorded once per node if missing
    dataset, val_dataset = make_datasets(
        cfg.dataset,
        meta.root,  # train split (augmented), held-out split or None
        cfg.policy.delta_timestamps(meta.fps, list(meta.features)),
    )
    per_rank_batch = cfg.batch_size // world
    samples = training_samples(dataset, getattr(cfg.policy, "drop_n_last_frames", 0), cfg.batch_size)
    sampler = ResumableSampler(
        DistributedSampler(samples, num_replicas=world, rank=rank, shuffle=True, seed=cfg.seed, drop_last=True)
    )
    loader_rng = torch.Generator()  # the loader's own (worker seeds), so creating an iterator leaves the global RNG be
    loader = DataLoader(
        samples,
        batch_size=per_rank_batch,
        sampler=sampler,
        num_workers=cfg.num_workers,
        generator=loader_rng,
        drop_last=True,
        persistent_workers=cfg.num_workers > 0,
    )
    val_loader = None
    if val_dataset is not None and rank == 0:  # the same first batches every time, so losses compare across steps
        val_loader = DataLoader(val_dataset, batch_size=per_rank_batch, shuffle=False, num_workers=cfg.num_workers)
    mark("dataset")

    # Model, optimizer, schedule.
    stats = dataset.meta.stats
    if cfg.dataset.use_imagenet_stats:
        stats = with_imagenet_stats(stats, [*dataset.meta.video_keys, *dataset.meta.image_keys])
    policy = make_policy(cfg.policy, dataset.meta.features, stats)
    if cfg.policy.pretrained_path:  # fine-tuning: the saved weights; normalized with this dataset's stats (as LeRobot)
        policy.load_weights(Path(cfg.policy.pretrained_path) / WEIGHTS_NAME)
    policy.to(device)
    use_amp = cfg.policy.use_amp if cfg.policy.use_amp is not None else device.type == "cuda"
    optimizer_cfg, scheduler_cfg = cfg.optimizer, cfg.scheduler
    assert optimizer_cfg is not None and scheduler_cfg is not None, "a validated config has both (presets filled in)"
    optimizer = optimizer_cfg.build(policy.optim_param_groups())
    scheduler = scheduler_cfg.build(optimizer, cfg.steps)
    step = 0
    start_weights = None
    # A restarted run continues where its last committed checkpoint left off; a new run that PBT started from
    # another trial's checkpoint (`start_from`, trainables/exploit.py) continues that one, with its own config's lrs.
    restored = ray.train.get_checkpoint()  # this run's own last checkpoint
    checkpoint = restored or (
        ray.train.Checkpoint(loop_config["start_from"]) if loop_config.get("start_from") else None
    )
    if checkpoint:
        with checkpoint.as_directory() as folder:
            step = load_training_state(Path(folder), policy, optimizer, scheduler, rank)
        if rank == 0:
            start_weights = weights_digest(
                {k: v for k, v in policy.state_dict().items() if not k.startswith(NORMALIZER_PREFIX)}
            )
    start_step = step
    # What the policy costs on the robot (parameters, select_action latency at batch 1 on this device): objectives
    # a sweep can trade against success, so they ride along with every report.
    costs = policy_costs(policy, single_observation(dataset[0], policy), device) if rank == 0 else {}
    model = ray.train.torch.prepare_model(policy) if world > 1 else policy  # DDP across workers
    mark("policy")

    evaluator = loop_config.get("evaluator") if rank == 0 else None
    if (
        evaluator is not None
        and restored
        and cfg.evaluates
        and start_step % cfg.eval_freq == 0
        and start_step < cfg.steps
    ):  # its evaluation may have been in flight at the stop: the same episodes again
        evaluator.submit(start_step, policy)
    wandb = WandbRun(cfg, loop_config.get("run_name", "run"), rank)
    log = LogLine(cfg, dataset.meta.total_frames, dataset.meta.total_episodes)
    last_eval: dict = {}
    unsaved_evals: list[dict] = []  # evaluations reported since the last checkpoint, in reports without one
    batches = _forever(loader, sampler, loader_rng, per_rank_batch, cfg.seed, start_step=step)
    data_start = time.perf_counter()
    while step < cfg.steps:
        batch = {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}
        data_s = time.perf_counter() - data_start
        update_start = time.perf_counter()
        model.train()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):  # bf16 needs no loss scaling
            loss, info = model(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = clip_gradients(policy, optimizer_cfg.grad_clip_norm)
        optimizer.step()
        scheduler.step()
        step += 1
        log.add(loss.item(), grad_norm, time.perf_counter() - update_start, data_s, info)
        if step == start_step + 1:
            mark("first_step")

        is_last = step == cfg.steps
        # Every evaluated step is also checkpointed: each evaluation is a candidate for the trial's best policy.
        evaluating = cfg.evaluates and (step % cfg.eval_freq == 0 or is_last)
        if evaluator is not None and evaluating:  # the evaluator lives on rank 0
            evaluator.submit(step, policy)  # returns at once; the actors evaluate while we keep training
        save = step % cfg.save_freq == 0 or evaluating or is_last
        if evaluator is not None:  # a staged evaluation's next stage starts as soon as its last one is in
            evaluator.advance()  # (finished evaluations are reported with the next report: benchmarks/README.md (i))
        if step % cfg.log_freq == 0 or save:
            metrics = log.flush(step, float(scheduler.get_last_lr()[0]))
            # A checkpoint is reported with every evaluation of an earlier step: none is in flight at a checkpoint,
            # so a run restored from it loses none (its own step's is run again on restore, above).
            finished = evaluator.poll(wait=is_last, wait_before=step if save else None) if evaluator is not None else []
            if finished:  # every evaluation is reported once in full (as JSON text, which loggers pass over);
                metrics[M.EVALUATIONS] = json.dumps(finished)  # the latest also rides along as eval/*
                last_eval = finished[-1]
            if save and unsaved_evals:  # kept with the checkpoint too: what a crash's replay tells Tune again
                metrics[M.EVALUATIONS_BEFORE] = json.dumps(unsaved_evals)
            unsaved_evals = [] if save else unsaved_evals + finished
            if val_loader is not None:
                metrics[M.VAL_LOSS] = validation_loss(policy, val_loader, device, use_amp)
            metrics.update(last_eval)  # the latest finished evaluation rides along with every later report
            metrics["node_id"] = ray.get_runtime_context().get_node_id()
            metrics[M.START_STEP] = start_step
            metrics[M.OPTIMIZER_LR] = optimizer.param_groups[0]["lr"]
            metrics.update(costs)
            if start_weights:
                metrics[M.START_WEIGHTS] = start_weights
            metrics["world_size"] = world
            if rank == 0:
                logger.info(log.line(step, metrics))
            wandb.log(metrics, step=step)
            report(metrics, step, cfg, policy, optimizer, scheduler, save=save)
        data_start = time.perf_counter()
    mark("last_report")
    wandb.finish()
    mark("loop_end")


def report(metrics: dict, step: int, cfg, policy, optimizer, scheduler, save: bool) -> None:
    """Every rank reports; rank 0 attaches the checkpoint, which Ray persists before registering it. The checkpoint
    keeps every rank's RNG state (gathered to rank 0), so each rank resumes its own dropout and noise."""
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    rng_states = None
    if save and world > 1:
        gathered: list[Any] = [None] * world  # every rank's rng_state(), once gathered
        torch.distributed.all_gather_object(gathered, rng_state())
        rng_states = gathered
    if not (save and rank == 0):
        ray.train.report(metrics)
        return
    with tempfile.TemporaryDirectory() as folder:
        save_checkpoint(Path(folder), step, cfg, policy, optimizer, scheduler, rng_states)
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(folder))


@torch.no_grad()
def validation_loss(
    policy: torch.nn.Module, loader: DataLoader, device: torch.device, use_amp: bool, max_batches: int = VAL_BATCHES
) -> float:
    """Mean training loss over the first `max_batches` batches of the held-out episodes, in eval mode (no dropout;
    ACT's latent is zero, as at inference)."""
    policy.eval()
    losses = []
    for i, batch in enumerate(loader):
        if i == max_batches:
            break
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            losses.append(policy({k: v.to(device) for k, v in batch.items()})[0].item())
    return float(np.mean(losses))


def clip_gradients(policy: torch.nn.Module, max_norm: float) -> float:
    params = [p for p in policy.parameters() if p.grad is not None]
    if max_norm > 0:
        return float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    return float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params if p.grad is not None])))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def training_samples(dataset: LeRobotDataset, drop_n_last_frames: int, batch_size: int) -> Subset:
    """The frames a training sample may start at: all but each episode's last `drop_n_last_frames` (LeRobot's
    EpisodeAwareSampler, used for policies that have the field, e.g. Diffusion). At least one batch of them."""
    keep = np.flatnonzero(dataset.rows < dataset.episode_to - drop_n_last_frames)
    if len(keep) < batch_size:
        raise UserError(
            problem(
                "batch_size",
                f"is larger than the {len(keep)} training samples of the dataset "
                f"{dataset.meta.root} (its training episodes' frames, less policy.drop_n_last_frames "
                f"= {drop_n_last_frames} per episode)",
                batch_size,
            )
        )
    return Subset(dataset, keep.tolist())


class ResumableSampler(Sampler):
    """DistributedSampler's order for each epoch, able to start part-way through one: a run resumed at step k sees
    exactly the samples the uninterrupted run saw from step k on (the indices are skipped, not the batches loaded)."""

    def __init__(self, base: DistributedSampler):
        self.base = base
        self.skip = 0

    def set_position(self, epoch: int, skip_samples: int) -> None:
        self.base.set_epoch(epoch)
        self.skip = skip_samples

    def __iter__(self):
        return itertools.islice(iter(self.base), self.skip, None)

    def __len__(self) -> int:
        return len(self.base) - self.skip


def _forever(
    loader: DataLoader,
    sampler: ResumableSampler,
    loader_rng: torch.Generator,
    per_rank_batch: int,
    seed: int,
    start_step: int,
):
    """Cycle through the loader epoch after epoch (a deterministic shuffle per epoch), from the position of
    `start_step`: its epoch, and the batches of that epoch already trained on skipped."""
    steps_per_epoch = max(1, len(sampler.base) // per_rank_batch)
    epoch, offset = divmod(start_step, steps_per_epoch)
    while True:
        sampler.set_position(epoch, offset * per_rank_batch)
        loader_rng.manual_seed(seed * 100_003 + epoch)  # data-loader worker seeds depend on the epoch only
        yield from loader
        epoch, offset = epoch + 1, 0
