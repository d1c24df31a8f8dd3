"""Tools on recorded runs: replay, what-if, causal diff, sensitivity."""
