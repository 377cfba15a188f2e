"""Prompt moderation (P17), before any provider is called.

A blocklist is the first line; a moderation service can be plugged in behind `ModerationService`.
The minor-safety category is never a judgement call: it blocks outright, is recorded for review and
the legal report, calls no provider and charges nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict


class ModerationCategory(StrEnum):
    MINOR_SAFETY = "minor_safety"
    BLOCKED_TERM = "blocked_term"
    SERVICE_FLAGGED = "service_flagged"


class ModerationVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    allowed: bool
    category: ModerationCategory | None = None


class ModerationService(Protocol):
    def classify(self, text: str) -> ModerationVerdict: ...


# Sexualised terms and terms for minors; a prompt combining the two is refused and recorded. The
# lists are deliberately short and conservative: the moderation service is the broad net.
_MINOR_TERMS = (
    "child",
    "children",
    "kid",
    "kids",
    "minor",
    "minors",
    "underage",
    "teen",
    "teens",
    "preteen",
    "loli",
    "toddler",
    "schoolgirl",
    "schoolboy",
)
_SEXUAL_TERMS = ("nude", "naked", "sexual", "sex", "explicit", "porn", "nsfw", "erotic", "lewd", "undressed")


def normalise(text: str) -> str:
    """Lower case, accents and look-alike characters folded, so spelling tricks do not slip through."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", " ", folded)


def _has_any(words: set[str], terms: Iterable[str]) -> bool:
    return any(term in words for term in terms)


class BlocklistModeration:
    def __init__(self, blocked_terms: Iterable[str] = (), service: ModerationService | None = None):
        self._blocked = {normalise(term).strip() for term in blocked_terms if term.strip()}
        self._service = service

    def check(self, *texts: str | None) -> ModerationVerdict:
        text = " ".join(t for t in texts if t)
        words = set(normalise(text).split())
        if _has_any(words, _MINOR_TERMS) and _has_any(words, _SEXUAL_TERMS):
            return ModerationVerdict(allowed=False, category=ModerationCategory.MINOR_SAFETY)
        padded = f" {normalise(text)} "
        if any(f" {term} " in padded for term in self._blocked):
            return ModerationVerdict(allowed=False, category=ModerationCategory.BLOCKED_TERM)
        if self._service is not None:
            return self._service.classify(text)
        return ModerationVerdict(allowed=True)
