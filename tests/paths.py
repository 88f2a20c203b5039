"""Where the tests find the repository and its committed models (one definition for all)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
