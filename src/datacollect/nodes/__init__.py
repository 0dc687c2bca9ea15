"""Node types: one module each, discovered through the ``datacollect.nodes`` entry points."""
