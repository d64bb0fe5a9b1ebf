"""The word lists of the moderation plugin (issue 22, "Words"): refuse a prompt, or strip words from it.

Server admins list words and phrases. People who want past such a list rarely misspell at
random: they write N.S.F.W, 𝐧𝐬𝐟𝐰, ｎｓｆｗ, nѕfw with a Cyrillic ѕ, n\u200bsfw with a zero-width
space, nüde, n$fw, nuuude. So a text is first read the way a person reads it - case,
compatibility forms, diacritics, invisible characters and look-alike letters are normalised
once per text - and each rule is then matched allowing leet digits and symbols for letters,
separators between single letters, and stretched letters.

Whole words matter as much as evasion: "class", "Scunthorpe", "therapist", "grape" and
"butterfly" must stay usable with rules like "ass", "cunt", "rapist", "rape" and "butt", so a
rule only matches inside a longer word where the admin wrote a ``*`` wildcard ("nud*").

What this deliberately is not: a semantic filter. It does not know that "unclothed" means
"nude", reads no intent, no slang it was not given and no images. It finds the words it was
given, however they are written; choosing the words is the admins' job.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

MAX_RULE_LENGTH = 100

# Digits and symbols typed for a letter. Symbols are not alphanumeric, so they are listed apart.
LEET = {"0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
        "@": "a", "$": "s", "!": "i", "|": "l"}
LETTER_SYMBOLS = "@$!|"
STANDS_FOR = {letter: "".join(typed for typed, letters in LEET.items() if letter in letters)
              for letter in set("".join(LEET.values()))}  # "s": "5$"

# Cyrillic, Greek and Latin letters that look like another Latin letter (after casefolding).
HOMOGLYPHS = str.maketrans({
    "а": "a", "в": "b", "е": "e", "һ": "h", "н": "h", "і": "i", "ј": "j", "к": "k", "м": "m",
    "о": "o", "р": "p", "с": "c", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "п": "n", "г": "r", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k",
    "μ": "u", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w",
    "ϲ": "c", "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ᴀ": "a", "ʙ": "b",
    "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k",
    "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u",
    "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
})
# Blank "letters" (Hangul fillers, braille blank) read as nothing, like zero-width characters.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
DROPPED_CATEGORIES = frozenset({"Mn", "Me", "Cf"})  # combining marks, invisible format characters

# Pattern pieces over normalised text.
ALNUM = r"[^\W_]"
LETTERLIKE = r"(?:[^\W_]|[@$!|])"
SEPARATOR = r"(?:[^\w@$!|]|_)"  # anything between letters: space, . - _ * / ...
PUNCTUATION = r"(?:[^\w\s@$!|]|_)"  # the same without whitespace: "ns-fw", "nu.de"
WILDCARD = "*"
MAX_HELD = 3  # identical characters in a row kept by normalising
MAX_EXTRA = 8  # stretched copies of a letter matched beyond the rule's own: bounds the work per position
MAX_WILD = 30  # letters a wildcard stands for
RULE_PUNCTUATION = " -'’."  # allowed in a rule, read as the gap between the words of a phrase


@lru_cache(maxsize=8192)
def _reads_as(char: str) -> str:
    """What one character reads as: '' for invisible ones, else lowercase base letters."""
    if char in BLANK_LETTERS:
        return ""
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", char).casefold())
    kept = "".join(c for c in folded if unicodedata.category(c) not in DROPPED_CATEGORIES)
    return kept.translate(HOMOGLYPHS)


@dataclass(frozen=True)
class _Normalised:
    text: str
    origin: list[int]  # origin[i]: index in the original text of normalised character i, then len(original)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original characters behind text[start:end], with invisible ones that trail it."""
        return self.origin[start], max(self.origin[end], self.origin[end - 1] + 1)


def _normalise(text: str) -> _Normalised:
    """Read the whole text once; a letter held down ("nuuuuuude") is kept at most 3 times."""
    pieces: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for reading in _reads_as(char):
            if pieces[-MAX_HELD:] != [reading] * MAX_HELD:
                pieces.append(reading)
                origin.append(index)
    origin.append(len(text))
    return _Normalised("".join(pieces), origin)


def _char_class(char: str) -> str:
    """A rule character as a regex class: itself, the letters it stands for, and their stand-ins."""
    chars = {char}
    for letter in LEET.get(char, char):
        chars.add(letter)
        chars.update(STANDS_FOR.get(letter, ""))
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


def _units(word: str) -> list[tuple[str, int] | str]:
    """A rule word as runs of (character class, how many times) and WILDCARD markers."""
    units: list[tuple[str, int] | str] = []
    for char in word:
        if char == WILDCARD:
            if units[-1:] != [WILDCARD]:
                units.append(WILDCARD)
            continue
        klass = _char_class(char)
        if units and units[-1] != WILDCARD and units[-1][0] == klass:
            units[-1] = (klass, units[-1][1] + 1)
        else:
            units.append((klass, 1))
    return units


def _run(klass: str, count: int, gap: str, stretch_gap: str, first_taken: bool = False) -> str:
    """The rule's `count` copies of a letter after `gap`, and a few stretched ones after `stretch_gap`."""
    more = f"(?:{gap}{klass}){{{count - 1}}}(?:{stretch_gap}{klass}){{0,{MAX_EXTRA}}}"
    return more if first_taken else klass + more


def _joined(units: list, first_taken: bool) -> str:
    """The word as one token, punctuation allowed inside it: nsfw, n$fw, nsssfw, ns-fw."""
    gap = f"{PUNCTUATION}{{0,3}}"
    parts = [f"{LETTERLIKE}{{0,{MAX_WILD}}}" if unit == WILDCARD
             else _run(*unit, gap, gap, first_taken=first_taken and index == 0)
             for index, unit in enumerate(units)]
    return gap.join(parts)


def _spelled_out(units: list, first_taken: bool) -> str:
    """The word with a separator between every letter: n.s.f.w, n s f w, n . s . f . w."""
    gap = f"{SEPARATOR}{{1,3}}"
    # stretched copies are split by punctuation only, or "a a.s.s" would be one word "aass"
    stretch_gap = f"{PUNCTUATION}{{1,3}}"
    parts = []
    for index, unit in enumerate(units):
        if unit == WILDCARD:
            parts.append(f"(?:{gap}{ALNUM}){{0,{MAX_WILD}}}")
            continue
        if index:
            parts.append(gap)
        parts.append(_run(*unit, gap, stretch_gap, first_taken=first_taken and index == 0))
    return "".join(parts) + r"(?:[.\-_*/](?=\s|$))?"  # "n.s.f.w." takes its last dot along


def _words(normalised_rule: str) -> list[str]:
    return [w for w in re.split(rf"[{re.escape(RULE_PUNCTUATION)}\s]+", normalised_rule) if w]


@dataclass(frozen=True)
class _Rule:
    text: str  # as the admin wrote it
    pattern: re.Pattern[str]
    any_start: bool  # starts with a wildcard: matches the end of a word, and takes the word along

    def spans(self, normalised: _Normalised, first_only: bool = False) -> list[tuple[int, int]]:
        spans = []
        for found in self.pattern.finditer(normalised.text):
            start = found.start()
            while self.any_start and start and found.start() - start < MAX_WILD and (
                    normalised.text[start - 1].isalnum() or normalised.text[start - 1] in LETTER_SYMBOLS):
                start -= 1
            spans.append(normalised.original_span(start, found.end()))
            if first_only:
                break
        return spans


@lru_cache(maxsize=4096)  # lists are rebuilt whenever a server's rules are read; rules rarely change
def _compile(rule: str) -> _Rule:
    """One regex per rule. It opens with the rule's first letter, so the regex engine can skip
    ahead to it, and only then looks back for the start of a word."""
    words = [_units(word) for word in _words(_normalise(rule).text)]
    any_start = words[0][0] == WILDCARD
    while words[0][0] == WILDCARD:  # "*porn", "* porn": the rest may start anywhere in a word
        words[0] = words[0][1:]
        if not words[0]:
            words.pop(0)
    first_letter = words[0][0][0]
    alternatives = [f"(?:{_spelled_out(units, index == 0)}|{_joined(units, index == 0)})"
                    for index, units in enumerate(words)]
    word_start = "" if any_start else f"(?<!{ALNUM}.)"
    phrase = f"{SEPARATOR}{{0,10}}".join(alternatives)
    return _Rule(rule, re.compile(f"{first_letter}{word_start}{phrase}(?!{ALNUM})"), any_start)


def check_rule(rule: str) -> str | None:
    """None if the rule can be used, else a plain-English reason it cannot."""
    if not rule.strip():
        return "The rule is empty."
    if len(rule.strip()) > MAX_RULE_LENGTH:
        return f"The rule is longer than {MAX_RULE_LENGTH} characters."
    normalised = _normalise(rule.strip()).text
    for char in normalised:
        if not (char.isalnum() or char in LETTER_SYMBOLS or char == WILDCARD
                or char in RULE_PUNCTUATION or char.isspace()):
            return (f"The rule contains {char!r}, which can never match: only letters, digits, "
                    "spaces, hyphens, apostrophes and the * wildcard count.")
    letters = sum(char.isalnum() or char in LETTER_SYMBOLS for char in normalised)
    if not letters:
        if WILDCARD in normalised:
            return "The rule is only wildcards (*), so it would match every word."
        return "The rule has no letters or digits."
    if WILDCARD in normalised and letters < 2:
        return "The rule would match too many words: put at least 2 letters with a wildcard (*)."
    return None


@dataclass(frozen=True)
class Match:
    """Where a rule was found: `start:end` indexes the text as the user typed it."""

    rule: str  # the rule as the admin wrote it
    start: int  # span in the original text
    end: int


def _compiled(rules: Iterable[str]) -> list[_Rule]:
    compiled = []
    for rule in rules:
        reason = check_rule(rule)
        if reason:
            raise ValueError(f"Unusable word rule {rule!r}: {reason}")
        compiled.append(_compile(rule))
    return compiled


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _join_tidily(left: str, right: str) -> str:
    """Glue the text either side of a cut: one space, no doubled punctuation, none before a comma."""
    left, right = left.rstrip(), right.lstrip()
    if not left or not right:
        return left + right
    if right[0] in ",;:.!?":
        return left.rstrip(",;:") + right
    return f"{left} {right}"


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    kept, position = "", 0
    for start, end in _merged(spans):
        kept = _join_tidily(kept, text[position:start]) if position else text[:start]
        position = end
    return _join_tidily(kept, text[position:]).strip(" \t\n,;:")


class WordRules:
    """A server's refuse and strip lists, compiled once."""

    def __init__(self, refuse: Iterable[str] = (), strip: Iterable[str] = ()) -> None:
        self._refuse = _compiled(refuse)
        self._strip = _compiled(strip)

    def refused_by(self, text: str) -> Match | None:
        """The earliest match of a refuse rule in the text, or None."""
        normalised = _normalise(text)
        found = [Match(rule.text, *span) for rule in self._refuse
                 for span in rule.spans(normalised, first_only=True)]
        return min(found, key=lambda match: match.start, default=None)

    def strip(self, text: str) -> tuple[str, list[str]]:
        """The text without any strip rule's words, and the rules that matched in order of appearance."""
        normalised = _normalise(text)
        spans: list[tuple[int, int]] = []
        first_seen: dict[str, int] = {}
        for rule in self._strip:
            for span in rule.spans(normalised):
                spans.append(span)
                first_seen.setdefault(rule.text, span[0])
        if not spans:
            return text, []
        return _cut(text, spans), sorted(first_seen, key=first_seen.__getitem__)
