"""citybase — 城市数字底座."""
__version__ = "0.1.0"
