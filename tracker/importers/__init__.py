"""File importers: values read from files on disk, found through the `tracker.importers`
entry-point group (`tracker import NAME FILE`), the way collectors are found through theirs."""
