"""Storage: settings, the composition root, the event recorders and mapper.

Also the read store, projecting the read models, rebuilds and the tamper-evidence chain.
"""
