"""Scripted experts that record demonstrations, by env type (`EnvConfig.type`).

An expert is built as Expert(seed=...); reset(env) after each env.reset(), then act(env) -> action at every step.
Experts read the live simulator (env.unwrapped), not the policy's observation, so they work with any obs_type.
"""
from orchestrator.datasets.experts.aloha import AlohaTransferCubeExpert
from orchestrator.datasets.experts.metaworld import MetaWorldExpert
from orchestrator.datasets.experts.pusht import PushTExpert

EXPERTS = {  # env type -> expert class
    "pusht": PushTExpert,
    "metaworld": MetaWorldExpert,
    "aloha": AlohaTransferCubeExpert,
}
EXPERT_TASKS = {"aloha": ["transfer_cube"]}  # env types whose expert solves only these values of env.task
