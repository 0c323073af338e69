"""Review cadence: when each published policy is next to be reviewed, reminders, overdue."""
