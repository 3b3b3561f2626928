"""Where the public question data lives: a shared/data folder beside the clone,
or the folder MEDEXAM_SHARED_DATA names."""

import os
from pathlib import Path

SHARED_DATA = Path(
    os.environ.get("MEDEXAM_SHARED_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)
