"""Leaf helpers every layer may use: the files a command writes, progress bars."""
