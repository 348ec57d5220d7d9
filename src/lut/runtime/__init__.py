"""What every command shares: checkpoints, processes, precision, preemption, logs, trackers, schedules, JSON files,
progress and seeds."""
