"""Moved to :mod:`core.datafiles` (shared by every layer); kept so that older imports still work."""
from core.datafiles import DataFileError, YamlDoc, data_dir, read_yaml, sha256_bytes  # noqa: F401
