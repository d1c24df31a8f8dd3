"""Everything that touches the outside world: storage, files, the command line."""
