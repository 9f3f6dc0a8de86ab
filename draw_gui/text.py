"""Small text formatting shared by the command line and the window."""
import math


def format_duration(seconds: float) -> str:
    """H:MM:SS (hours not wrapped at 24); --:-- when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"
