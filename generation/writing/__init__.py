"""Writing: from a taste (and a brief) to a versioned Script the renderer can render."""

from generation.writing.llm import script_write_llm
from generation.writing.script import SCRIPT_SCHEMA, script_prompt, script_texts, script_validate
from generation.writing.writer import WrittenScript, script_coherence, script_write, script_write_scored, series_next

__all__ = [
    "SCRIPT_SCHEMA", "WrittenScript", "script_coherence", "script_prompt", "script_texts", "script_validate",
    "script_write", "script_write_llm", "script_write_scored", "series_next",
]
