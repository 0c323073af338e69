"""Tasks created by workflows for a person to do."""
