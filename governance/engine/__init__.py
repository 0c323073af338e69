"""The workflow runtime: dispatch, conditions, actions, runner, reconciler. Never imports views."""
