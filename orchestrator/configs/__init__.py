"""Typed configs: TrainPipelineConfig (train.py) and its parts; parsing.py turns user input into them."""
