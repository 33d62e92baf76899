"""CPU storyboard renderer: a Script (JSON dict) -> frames, mixed audio and WebVTT captions."""

from generation.storyboard.render import CREDIT, Interrupted, StoryboardResult, render_script

__all__ = ["render_script", "StoryboardResult", "CREDIT", "Interrupted"]
