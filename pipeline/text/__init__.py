"""Chinese text processing for 95598 transcripts: the public API other parts import.

Typical order: ``normalize`` -> ``split_turns`` -> ``mask_pii`` -> ``apply_lexicon``
-> ``tokenize``; ``customer_text`` and ``model_input`` do it all for one transcript.
"""

from __future__ import annotations

from pipeline.text.lexicon import apply_lexicon, load_lexicon
from pipeline.text.mask import mask_account, mask_phone, mask_pii
from pipeline.text.normalize import normalize, to_simplified
from pipeline.text.prepare import (
    customer_text,
    model_input,
    model_inputs,
    prepared_turns,
    strip_agent_phrases,
)
from pipeline.text.tokenize import get_tokenizer, tokenize, tokenize_many
from pipeline.text.turns import Turn, split_turns

__all__ = [
    "Turn",
    "apply_lexicon",
    "customer_text",
    "get_tokenizer",
    "load_lexicon",
    "mask_account",
    "mask_phone",
    "mask_pii",
    "model_input",
    "model_inputs",
    "normalize",
    "prepared_turns",
    "split_turns",
    "strip_agent_phrases",
    "to_simplified",
    "tokenize",
    "tokenize_many",
]


def reset_caches() -> None:
    """Reload dictionaries, lexicon and stopwords on next use (after changing ``[text]`` config)."""
    from pipeline.text import lexicon, prepare, resources
    from pipeline.text.tokenize import reset_tokenizer

    lexicon.default_lexicon.cache_clear()
    prepare._terms_pattern.cache_clear()
    resources.stopwords.cache_clear()
    resources.domain_terms.cache_clear()
    reset_tokenizer()
