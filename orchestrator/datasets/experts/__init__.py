"""Scripted experts that record demonstrations, by env type (`EnvConfig.type`)."""
from orchestrator.datasets.experts.pusht import PushTExpert

EXPERTS = {"pusht": PushTExpert}  # env type -> expert class, built as Expert(seed=...)
