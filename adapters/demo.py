"""`kofu demo`: placeholder replaced when the synthetic generator lands."""
