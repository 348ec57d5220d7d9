"""What every command shares: checkpoints, processes, precision, preemption, logs, trackers, schedules,
progress and seeds."""
