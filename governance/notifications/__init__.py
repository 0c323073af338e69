"""In-app notifications (and the email that goes with them)."""
