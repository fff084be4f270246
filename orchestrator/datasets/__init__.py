"""LeRobotDataset v3.0 files: writing, reading with delta_timestamps windows, stats, and recording expert demos."""
