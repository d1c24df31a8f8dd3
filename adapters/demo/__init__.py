"""`kofu demo`: the reference data and a synthetic national year."""
