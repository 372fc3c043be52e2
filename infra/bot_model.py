"""Turn `careline/nlu/bot_model.yaml` into Amazon Lex V2 intent definitions (pure: no CDK).

The same file feeds the local classifier; only `intents.<name>.description` and
`intents.<name>.utterances` reach Lex. Keywords, `negation`, `shorthand` and `topics` are for the
local classifier only. Utterances are cleaned into what Lex accepts (see `clean_utterance`) and
made unique across the locale: the first intent (in the label-set order) keeps a shared one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from careline.nlu.classifier import BOT_MODEL_PATH, INTENTS

LOCALE_ID = "en_US"
# Lex caps a sample utterance at 500 characters and an intent description at 200.
MAX_UTTERANCE_CHARS = 500
MAX_DESCRIPTION_CHARS = 200
# A one-letter "utterance" ("c" for confirm, fine in an SMS reply) is noise to a speech model.
MIN_UTTERANCE_CHARS = 2

# `{slotName}` is a slot reference; Lex slot names start with a letter or digit and may hold `_`/`-`.
_SLOT_REFERENCE = re.compile(r"\{([0-9A-Za-z][0-9A-Za-z_-]*)\}")
# Kept: letters, digits, spaces and the apostrophe ("don't"). Everything else becomes a space.
_REJECTED = re.compile(r"[^a-z0-9' ]")
_SLOT_PLACEHOLDER = "\x00{}\x00"


@dataclass(frozen=True)
class LexIntent:
    """One Lex V2 intent compiled from the model: name, description, cleaned utterances."""

    name: str
    description: str
    utterances: tuple[str, ...]


def clean_utterance(text: str, slots: Iterable[str] = ()) -> str | None:
    """`text` as a Lex sample utterance, or None if Lex would reject it (or it is noise).

    Lower-cased, punctuation other than the apostrophe replaced by spaces, curly quotes made
    straight, whitespace collapsed. `{slot}` references survive when `slots` names the slot; a
    reference to a slot the intent does not have makes the utterance unusable (Lex refuses it).
    Shorter than two characters, or longer than 500: None.
    """
    known = set(slots)
    referenced = _SLOT_REFERENCE.findall(text)
    if any(name not in known for name in referenced):
        return None
    # Protect the slot references (case-sensitive names) from lower-casing and punctuation removal.
    protected = _SLOT_REFERENCE.sub(lambda m: _SLOT_PLACEHOLDER.format(m.group(1)), text)
    parts = protected.split("\x00")
    # Even parts are plain text, odd parts are slot names.
    cleaned_parts: list[str] = []
    for index, part in enumerate(parts):
        if index % 2:
            cleaned_parts.append(f" {{{part}}} ")
            continue
        plain = part.replace("\u2019", "'").replace("\u2018", "'").lower()
        plain = _REJECTED.sub(" ", plain)
        # An apostrophe only belongs inside a word ("don't"), never at its edges or alone.
        plain = re.sub(r"(?<![a-z0-9])'|'(?![a-z0-9])", " ", plain)
        cleaned_parts.append(plain)
    cleaned = " ".join("".join(cleaned_parts).split())
    if len(cleaned) < MIN_UTTERANCE_CHARS or len(cleaned) > MAX_UTTERANCE_CHARS:
        return None
    if not re.search(r"[a-z0-9]", _SLOT_REFERENCE.sub("", cleaned)) and not referenced:
        return None
    return cleaned


def compile_intents(model: Mapping[str, Any]) -> tuple[LexIntent, ...]:
    """The model's intents in label-set order, each with its cleaned, locale-unique utterances.

    Raises ValueError when the model's intents differ from the label set or an intent is left
    with no usable utterance (Lex needs at least one to build the locale).
    """
    raw_intents: Mapping[str, Any] = model["intents"]
    if set(raw_intents) != set(INTENTS):
        raise ValueError(
            f"bot model intents differ from the label set: +{sorted(set(raw_intents) - set(INTENTS))} "
            f"-{sorted(set(INTENTS) - set(raw_intents))}"
        )
    seen: set[str] = set()
    compiled: list[LexIntent] = []
    for name in INTENTS:
        spec = raw_intents[name]
        utterances: list[str] = []
        for raw in spec.get("utterances", []):
            cleaned = clean_utterance(str(raw))
            if cleaned is None or cleaned in seen:
                continue
            seen.add(cleaned)
            utterances.append(cleaned)
        if not utterances:
            raise ValueError(f"bot model intent {name!r} has no sample utterance Lex accepts")
        description = " ".join(str(spec.get("description", "")).split())[:MAX_DESCRIPTION_CHARS]
        compiled.append(LexIntent(name=name, description=description, utterances=tuple(utterances)))
    return tuple(compiled)


def load_bot_model(path: Path = BOT_MODEL_PATH) -> dict[str, Any]:
    model: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    locale = model.get("locale", LOCALE_ID)
    if locale != LOCALE_ID:
        raise ValueError(f"bot model locale {locale!r} is not {LOCALE_ID}")
    return model


def fingerprint(intents: Sequence[LexIntent]) -> str:
    """A short, stable hash of the compiled intents: a new bot version whenever they change."""
    payload = json.dumps([[i.name, i.description, list(i.utterances)] for i in intents], sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]
