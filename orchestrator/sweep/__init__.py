"""The sweep's course: prepare and run the Tuner, show progress, keep what resume needs, confirm the top candidates, finish."""
