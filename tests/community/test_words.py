"""The moderation plugin's word lists: written-around words are still caught, ordinary words never are."""

from __future__ import annotations

import re
import string
import time
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from plugins.community.words import Match, WordRules, check_rule

BANNED = ["nsfw", "nude", "porn", "ass", "rape", "cock", "cum"]
TRICKY = BANNED + ["rapist", "butt", "cunt", "sex"]
REFUSE = WordRules(refuse=TRICKY)
DETERMINISTIC = settings(max_examples=300, deadline=None, derandomize=True)

# How people write around a word list, letter by letter.
LEET = {"a": "4@", "e": "3", "i": "1!", "l": "1|", "o": "0", "s": "5$", "t": "7", "b": "8"}
HOMOGLYPHS = {"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "s": "ѕ", "k": "κ", "n": "η", "u": "υ"}
ACCENTS = ["\u0301", "\u0300", "\u0303", "\u0308", "\u0302", "\u030c"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
SPELLING_SEPARATORS = [" ", ".", "-", "_", "*", "/", " . ", ". ", "  "]
STRETCH_SEPARATORS = [".", "-", "_", "*", "/"]
INNER_PUNCTUATION = ["", "", "", ".", "-", "_", "*"]
SENTENCES = ["{} photo of a cat", "a {} portrait, oil on canvas", "make it {}!", "{}",
             "draw me something ({}) please", "Cinematic lighting. {}. 4k"]


def _styled(letter: str, style: str, upper: bool, pick: int) -> str:
    offset = ord(letter) - ord("a")
    stand_ins = LEET.get(letter, letter)
    return {
        "plain": letter.upper() if upper else letter,
        "leet": stand_ins[pick % len(stand_ins)],
        "homoglyph": HOMOGLYPHS.get(letter, letter),
        "fullwidth": chr((0xFF21 if upper else 0xFF41) + offset),
        "math bold": chr((0x1D400 if upper else 0x1D41A) + offset),
        "monospace": chr((0x1D670 if upper else 0x1D68A) + offset),
        "circled": chr((0x24B6 if upper else 0x24D0) + offset),
    }[style]


@st.composite
def disguised_letter(draw, letter: str) -> list[str]:
    """One letter of the word, possibly stretched, each copy written its own way."""
    copies = []
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3, 4]))):
        style = draw(st.sampled_from(["plain", "leet", "homoglyph", "fullwidth", "math bold", "monospace", "circled"]))
        char = _styled(letter, style, draw(st.booleans()), draw(st.integers(0, 1)))
        if style == "plain" and draw(st.booleans()):
            char = unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), char + draw(st.sampled_from(ACCENTS)))
        if draw(st.integers(0, 3)) == 0:
            char += draw(st.sampled_from(INVISIBLE))
        copies.append(char)
    return copies


@st.composite
def evasion(draw) -> tuple[str, str]:
    """(banned word, the word written to slip past a list)."""
    word = draw(st.sampled_from(BANNED))
    letters = [draw(disguised_letter(letter)) for letter in word]
    if draw(st.booleans()):  # spelled out: a separator between every letter, "n.s.f.w", "n . u . d . e"
        # stretched copies are split without spaces: "a a.s.s" is "a ass", not "aass"
        between_copies, between_letters = STRETCH_SEPARATORS, SPELLING_SEPARATORS
    else:
        between_copies = between_letters = INNER_PUNCTUATION
    written = ""
    for copies in letters:
        for index, char in enumerate(copies):
            if written:
                written += draw(st.sampled_from(between_copies if index else between_letters))
            written += char
    return word, written


LOWERCASE = string.ascii_lowercase


def _collapsed(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


ORDINARY_PROMPTS = [
    "a red fox in the snow", "Sussex countryside at dawn", "the cockpit of a plane", "a bass guitar on a stage",
    "a classic car in Havana", "a class photo from 1985", "my assistant at her desk", "Scunthorpe high street",
    "a therapist's office", "a bunch of grapes", "a butterfly on a leaf", "a passenger train", "the British embassy",
    "green grass and a compass", "a brass band", "molasses cookies", "cumulus clouds over a lake",
    "cucumber salad with cumin", "a peacock in a garden", "a cocktail at sunset", "Hancock Park",
    "the assassin's creed", "Essex seaside", "a sextant on a map", "a drape over a chair", "scrape the ice",
    "a nudibranch underwater", "accumulate snow", "a document on a desk", "a glass of wine", "Mass Effect armour",
    "harass no one", "a butter knife", "Cockney market stall", "a cumbersome robot", "sunset over a bay",
    "a 4k render of a castle", "8 bit pixel art of a knight", "room 101, 3d render", "a porpoise jumping",
    "a drapery study", "asparagus on a plate", "a massive wave", "a bassoon player", "associate professor",
    "a moss-covered stone", "a classy dinner", "a scunner of a day", "the Nordic sagas", "the Pornic harbour",
    "a rapeseed field in May", "Assisi cathedral", "a grassy knoll", "a shuttlecock", "a cockatoo", "a stopcock",
    "A.S.A.P. delivery van", "U.S.S. Enterprise", "a raspberry tart", "nuance and tone", "a cumquat tree",
]


@DETERMINISTIC
@given(evasion(), st.sampled_from(SENTENCES))
def test_a_written_around_word_in_a_prompt_is_still_refused(attempt, sentence):
    word, written = attempt
    prompt = sentence.format(written)
    match = REFUSE.refused_by(prompt)
    assert match is not None, f"{prompt!r} slipped past {word!r}"
    assert match.rule == word
    where, after = sentence.index("{}"), sentence.index("{}") + len(written)
    assert where <= match.start and match.end <= after + prompt.startswith(". ", after)  # "n.s.f.w." takes its dot


@DETERMINISTIC
@given(evasion())
def test_stripping_a_written_around_word_removes_exactly_it(attempt):
    word, written = attempt
    assert WordRules(strip=BANNED).strip(f"a {written} cat, at night") == ("a cat, at night", [word])


@pytest.mark.parametrize("prompt", ORDINARY_PROMPTS)
def test_ordinary_prompts_are_not_refused(prompt):
    assert REFUSE.refused_by(prompt) is None


@DETERMINISTIC
@given(st.sampled_from(TRICKY), st.text(LOWERCASE, max_size=5), st.text(LOWERCASE, max_size=5))
def test_a_longer_word_containing_a_banned_word_is_not_refused(word, before, after):
    longer = before + word + after
    assume(longer != word)
    assume(all(_collapsed(longer) != _collapsed(rule) for rule in TRICKY))  # "asss" is "ass" held down
    assert REFUSE.refused_by(f"a photo of {longer}, at night") is None


def test_a_double_letter_in_a_rule_must_be_there():
    rules = WordRules(refuse=["ass"])
    assert rules.refused_by("as good as it gets") is None
    assert rules.refused_by("a SS officer's cap") is None
    assert rules.refused_by("what an asssss") is not None


def test_the_match_points_at_the_earliest_rule_word_in_the_original_text():
    prompt = "a cat, then n.u.d.e and nsfw"
    match = REFUSE.refused_by(prompt)
    assert match == Match("nude", prompt.index("n.u.d.e"), prompt.index("n.u.d.e") + len("n.u.d.e"))


def test_rules_are_read_like_text():
    assert WordRules(refuse=["NSFW"]).refused_by("nsfw") is not None
    assert WordRules(refuse=["nüde"]).refused_by("nude") is not None
    assert WordRules(refuse=["b00bs"]).refused_by("boobs") is not None


def test_a_phrase_matches_its_words_in_order():
    rules = WordRules(refuse=["big ass"])
    assert rules.refused_by("a big   ass") is not None
    assert rules.refused_by("a bigass") is not None
    assert rules.refused_by("a big bass") is None
    assert rules.refused_by("an ass, big") is None


def test_wildcards_match_inside_words_only_where_written():
    assert WordRules(refuse=["nude"]).refused_by("nudity") is None
    with_wildcard = WordRules(refuse=["nud*"])
    assert [with_wildcard.refused_by(w) is not None for w in ["nudity", "nudes", "nude", "denude"]] == [
        True, True, True, False]
    leading = WordRules(refuse=["*porn"])
    assert [leading.refused_by(w) is not None for w in ["deepporn", "porn", "pornography"]] == [True, True, False]


def test_a_wildcard_rule_strips_the_whole_word():
    assert WordRules(strip=["*porn"]).strip("a deepporn image") == ("a image", ["*porn"])
    assert WordRules(strip=["nud*"]).strip("nudity in art") == ("in art", ["nud*"])


def test_strip_removes_the_evasion_and_keeps_the_rest_of_the_prompt():
    rules = WordRules(strip=["nsfw", "nude"])
    assert rules.strip("a n.s.f.w cat") == ("a cat", ["nsfw"])
    assert rules.strip("a n\u200bs\u0301fw\u200b cat") == ("a cat", ["nsfw"])
    assert rules.strip("nsfw A  red fox,\nin the snow") == ("A  red fox,\nin the snow", ["nsfw"])
    assert rules.strip("a cat, nsfw, in the snow") == ("a cat, in the snow", ["nsfw"])
    assert rules.strip("draw a n.s.f.w. cat.") == ("draw a cat.", ["nsfw"])


def test_strip_reports_each_rule_once_in_order_of_appearance():
    rules = WordRules(strip=["nsfw", "nude"])
    assert rules.strip("nude, nsfw, nude cat") == ("cat", ["nude", "nsfw"])


def test_strip_leaves_a_prompt_without_rule_words_untouched():
    prompt = "  A  red fox,\nin the snow, classic  "
    assert WordRules(strip=["nsfw", "ass"]).strip(prompt) == (prompt, [])


def test_the_refuse_and_strip_lists_are_separate():
    assert WordRules(refuse=["nsfw"]).strip("nsfw cat") == ("nsfw cat", [])
    assert WordRules(strip=["nsfw"]).refused_by("nsfw cat") is None


@pytest.mark.parametrize("rule, reason_mentions", [
    ("", "empty"), ("   ", "empty"), ("x" * 101, "100 characters"), ("*", "wildcards"), ("** *", "wildcards"),
    ("🍆", "never match"), ("nsfw 🍆", "never match"), ("- -", "no letters"), ("a*", "too many words"),
])
def test_check_rule_refuses_bad_rules_and_says_why(rule, reason_mentions):
    reason = check_rule(rule)
    assert reason is not None and reason_mentions in reason


@pytest.mark.parametrize("rule", ["nsfw", "NSFW", "big ass", "nud*", "*porn", "a$$", "f-word", "don't", "x" * 100])
def test_check_rule_accepts_usable_rules(rule):
    assert check_rule(rule) is None


def test_a_bad_rule_is_refused_by_name_when_building_the_lists():
    with pytest.raises(ValueError, match="'\\*'"):
        WordRules(refuse=["nsfw", "*"])


def _seconds(call, *args) -> float:
    """CPU seconds of the best of three calls: what the matching itself costs, which a loaded
    machine does not inflate (the bounds below are 10-35 times the usual figure; catastrophic
    backtracking would exceed them by orders of magnitude)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        call(*args)
        best = min(best, time.process_time() - start)
    return best


def test_matching_a_long_prompt_against_many_rules_is_quick():
    rules = [f"word{n}" for n in range(190)] + BANNED + ["big ass", "nud*", "*porn"]
    lists = WordRules(refuse=rules, strip=rules)
    prompt = ("a classic red fox in the Sussex snow, n.s.f.w, " * 25)[:1000]
    lists.refused_by(prompt)  # warm the per-character cache like a running bot
    assert _seconds(lists.refused_by, prompt) < 0.1
    assert _seconds(lists.strip, prompt) < 0.1


@pytest.mark.parametrize("hostile", [
    "a" + "$" * 4000 + "h", "n." * 2000 + "x", "a " * 2000, "porn$" * 800, "nud" + "e" * 4000 + "!" * 2000,
])
def test_hostile_prompts_do_not_stall_the_bot(hostile):
    lists = WordRules(refuse=BANNED + ["big ass", "nud*", "*porn"], strip=BANNED + ["nud*", "*porn"])
    assert _seconds(lists.refused_by, hostile) + _seconds(lists.strip, hostile) < 3
