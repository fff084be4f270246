"""The command line's usage text: `python -m orchestrator --help` prints it, each command's --help its own lines."""

USAGE = """python -m orchestrator <command> ...

  sweep SEARCH_SPACE.py [--dry-run] [--field.sub=value ...] [--tune.field=value ...]
  train [--config_path=FILE_OR_HUB_ID] [--field.sub=value ...] [--policy.path=FOLDER_OR_HUB_ID] [--dry-run]
  eval --policy.path=FOLDER_OR_HUB_ID [--env.field=value ...] [--eval.n_episodes=N ...] [--output_dir=DIR]
  eval --expert=true [--env.field=value ...] [--eval.n_episodes=N ...]   (the env's scripted expert: the ceiling)
  push EXPERIMENT_OR_POLICY_FOLDER --hub.repo_id=USER_OR_ORG/NAME [--hub.private=true]
  report EXPERIMENT_FOLDER_OR_URI [--out=DIR]   (report.html + PNGs, default EXPERIMENT_FOLDER/report/; no Ray needed)
  dataset record [--env.type=pusht] [--env.obs_type=...] [--episodes=N] [--root=DIR] [--seed=S] [--keep_failures=true]

sweep, train and eval take --verbose: Ray's own output too (worker logs, Tune's status table), else in <run>/logs/.
Bad input prints one message naming the field and what is allowed, and exits 2 with no traceback.
"""
