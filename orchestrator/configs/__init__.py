"""Typed configs. Importing this package registers every policy, env, optimizer and scheduler choice."""
from orchestrator.configs.train import TrainPipelineConfig  # noqa: F401
from orchestrator.policies import registry  # noqa: F401  (registers all policies)
