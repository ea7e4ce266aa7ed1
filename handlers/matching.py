"""The question matcher: which knowledge-base topic a message is about, and how sure we are."""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from handlers.knowledge import KnowledgeBase
from handlers.normalize import STOP_WORDS, WORDS, Stemmer, word_set, words

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
MAX_CHARS = 2_000  # a question is in the first lines; the rest of a long mail adds only noise
MAX_WORDS = 300  # bounds the work on a long message even when its words repeat
MAX_TERMS = 60
MIN_CANDIDATE_SCORE = 0.2
CLOSE_MARGIN = 0.15
SOCIAL_TOPICS = frozenset({"salam", "terima_kasih"})

# Words that tell English from Indonesian; anything else does not vote.
_ENGLISH = word_set(
    """i my me we our you your the a an is are am do does did how what where when who why
    can could would will please to of for in on with not have has want need forgot thanks
    thank hello hi hey good morning afternoon evening account course courses class
    password cannot can't don't doesn't isn't it this that there any help"""
)
_INDONESIAN = word_set(
    """saya sy aku kami kita anda yang di ke dari dan atau untuk dengan ini itu apa apakah
    bagaimana gimana gmn cara mau ingin tidak gak ga nggak belum blm sudah udah bisa ada
    min kak pak bu tolong mohon dong ya kok halo selamat pagi siang sore malam terima kasih
    makasih akun kuliah mata matkul kelas lupa kapan siapa mana sama"""
)


@dataclass(frozen=True)
class Match:
    """The matcher's verdict on one message."""

    topic: str | None  # None when not confident enough to answer
    confidence: float  # 0..1
    escalate: bool  # the bot should offer to hand over to staff
    candidates: tuple[str, ...]  # likely topics, best first, for buttons
    language: str  # "id" or "en"


@dataclass(frozen=True)
class _Example:
    topic: str
    terms: frozenset[str]
    weight: float  # sum of the idf of its terms


class Matcher:
    """Scores a message against every topic's examples and keywords.

    Each term weighs its idf over topics, so words every topic uses ("kuliah") count little.
    A topic's score mixes how much of the message the topic's vocabulary covers with the
    overlap of the single closest example. Words that no topic knows weigh as much as the
    rarest known word, which is what keeps out-of-scope questions below the threshold.
    """

    def __init__(self, kb: KnowledgeBase, *, threshold: float | None = None) -> None:
        self.kb = kb
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        self._stemmer = Stemmer()
        self._actions = {topic_id: topic.action for topic_id, topic in kb.topics.items()}

        examples, keywords, surface = self._read_topics()
        self._vocab: dict[str, dict[str, float]] = {
            topic_id: _topic_vocabulary(topic_examples, keywords[topic_id])
            for topic_id, topic_examples in examples.items()
        }
        self._idf = _idf(self._vocab.values())
        self._unknown_idf = math.log(1 + len(self._vocab))
        self._examples = [
            _Example(topic_id, terms, sum(self._idf[term] for term in terms))
            for topic_id, topic_examples in examples.items()
            for terms in topic_examples
        ]
        self._index = _inverted_index(self._examples)
        self._social = _exclusive_terms(self._vocab, SOCIAL_TOPICS)
        self._choices = _typo_choices(surface, self._idf, self._stemmer.stem)
        self._token_terms: Callable[[str], tuple[str, ...]] = lru_cache(maxsize=100_000)(
            self._terms_of_token
        )

    def match(self, text: str) -> Match:
        """The topic of `text`, or None with escalate=True when not confident."""
        text = text[:MAX_CHARS]
        language = guess_language(text)
        terms = self.terms(text)
        if not terms:
            return Match(None, 0.0, True, (), language)

        social = [term for term in terms if term in self._social]
        content = [term for term in terms if term not in self._social]
        ranked = self._rank(content, exclude=SOCIAL_TOPICS) if content else []
        topic, confidence = self._decide(ranked, content, social)
        return self._verdict(topic, confidence, ranked, language)

    def terms(self, text: str) -> list[str]:
        """The distinct content terms of `text`: normalised, stemmed, typos corrected."""
        seen: dict[str, None] = {}
        for word in words(text)[:MAX_WORDS]:
            seen.update(dict.fromkeys(self._token_terms(word)))
            if len(seen) >= MAX_TERMS:
                break
        return list(seen)

    def _decide(
        self, ranked: list[tuple[str, float]], content: list[str], social: list[str]
    ) -> tuple[str | None, float]:
        if ranked and self._confidence(ranked) >= self.threshold:
            return ranked[0][0], self._confidence(ranked)
        if social and self._is_filler(content):
            # A greeting or thanks with nothing else of substance around it.
            return self._rank(social, only=SOCIAL_TOPICS)[0]
        return None, self._confidence(ranked) if ranked else 0.0

    @staticmethod
    def _confidence(ranked: list[tuple[str, float]]) -> float:
        # A runner-up close behind means the message could be either: be less sure.
        best = ranked[0][1]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        return max(best - 0.5 * max(0.0, runner_up - (best - CLOSE_MARGIN)), 0.0)

    def _is_filler(self, content: list[str]) -> bool:
        return sum(self._idf.get(term, self._unknown_idf) for term in content) < 1.0

    def _verdict(
        self,
        topic: str | None,
        confidence: float,
        ranked: list[tuple[str, float]],
        language: str,
    ) -> Match:
        if topic is not None and self._actions[topic] == "none":
            topic = None
        candidates = [
            topic_id
            for topic_id, score in ranked
            if score >= MIN_CANDIDATE_SCORE and self._actions[topic_id] != "none"
        ][:3]
        if topic is not None and topic not in candidates:
            candidates = [topic, *candidates][:3]
        escalate = topic is None or self._actions[topic] == "handover"
        return Match(topic, round(min(confidence, 1.0), 3), escalate, tuple(candidates), language)

    def _rank(
        self,
        terms: list[str],
        *,
        exclude: frozenset[str] = frozenset(),
        only: frozenset[str] | None = None,
    ) -> list[tuple[str, float]]:
        weights = {term: self._idf.get(term, self._unknown_idf) for term in terms}
        total = sum(weights.values())
        best_example = self._best_examples(weights, total)

        scores = []
        for topic_id, vocabulary in self._vocab.items():
            if topic_id in exclude or (only is not None and topic_id not in only):
                continue
            covered = sum(weight * vocabulary.get(term, 0.0) for term, weight in weights.items())
            coverage = min(covered / total, 1.0)
            scores.append((topic_id, 0.5 * coverage + 0.5 * best_example.get(topic_id, 0.0)))
        return sorted(scores, key=lambda item: item[1], reverse=True)

    def _best_examples(self, weights: dict[str, float], total: float) -> dict[str, float]:
        """Per topic, the Dice overlap of the message with its closest example."""
        shared: dict[int, float] = defaultdict(float)
        for term, weight in weights.items():
            for position in self._index.get(term, ()):
                shared[position] += weight

        best: dict[str, float] = {}
        for position, overlap in shared.items():
            example = self._examples[position]
            dice = 2 * overlap / (total + example.weight)
            if dice > best.get(example.topic, 0.0):
                best[example.topic] = dice
        return best

    def _terms_of_token(self, token: str) -> tuple[str, ...]:
        if token in STOP_WORDS:
            return ()
        stem = self._stemmer.stem(token)
        if stem in STOP_WORDS:
            return ()
        if stem in self._idf or len(stem) < 4 or not stem.isalpha():
            return (stem,)
        return self._correct(stem)

    def _correct(self, stem: str) -> tuple[str, ...]:
        # One slip of the finger per five letters or so; shorter words are left alone.
        cutoff = 85.0 if len(stem) <= 5 else 80.0
        found = process.extractOne(
            stem, self._choices.keys(), scorer=fuzz.ratio, score_cutoff=cutoff
        )
        if found is None:
            return (stem,)
        corrected = self._choices[found[0]]
        return (corrected,) if corrected else ()

    def _read_topics(
        self,
    ) -> tuple[dict[str, list[frozenset[str]]], dict[str, dict[str, float]], dict[str, str]]:
        examples: dict[str, list[frozenset[str]]] = {}
        keywords: dict[str, dict[str, float]] = {}
        surface: dict[str, str] = {}
        for topic_id, topic in self.kb.topics.items():
            examples[topic_id] = [self._plain_terms(text, surface) for text in topic.examples]
            keywords[topic_id] = {
                term: weight
                for keyword, weight in topic.keywords.items()
                for term in self._plain_terms(keyword, surface)
            }
        return examples, keywords, surface

    def _plain_terms(self, text: str, surface: dict[str, str]) -> frozenset[str]:
        """Terms of a knowledge-base text, remembering each spelling for typo correction."""
        terms = set()
        for word in words(text):
            stem = self._stemmer.stem(word)
            if word in STOP_WORDS or stem in STOP_WORDS:
                continue
            surface[word] = stem
            terms.add(stem)
        return frozenset(terms)


def guess_language(text: str) -> str:
    """ "en" when English words outnumber Indonesian ones, else "id"."""
    tokens = text.lower().split()
    english = sum(token.strip("?!.,") in _ENGLISH for token in tokens)
    indonesian = sum(token.strip("?!.,") in _INDONESIAN for token in tokens)
    return "en" if english > indonesian else "id"


def _topic_vocabulary(
    examples: list[frozenset[str]], keywords: dict[str, float]
) -> dict[str, float]:
    vocabulary = dict.fromkeys(frozenset().union(*examples), 1.0)
    vocabulary.update(keywords)
    return vocabulary


def _idf(vocabularies: Iterable[dict[str, float]]) -> dict[str, float]:
    vocabularies = list(vocabularies)
    frequency: dict[str, int] = defaultdict(int)
    for vocabulary in vocabularies:
        for term in vocabulary:
            frequency[term] += 1
    return {term: math.log(1 + len(vocabularies) / count) for term, count in frequency.items()}


def _inverted_index(examples: list[_Example]) -> dict[str, tuple[int, ...]]:
    index: dict[str, list[int]] = defaultdict(list)
    for position, example in enumerate(examples):
        for term in example.terms:
            index[term].append(position)
    return {term: tuple(positions) for term, positions in index.items()}


def _exclusive_terms(vocab: dict[str, dict[str, float]], topics: frozenset[str]) -> frozenset[str]:
    """Terms used by `topics` and by no other topic."""
    inside = {term for topic_id in topics for term in vocab.get(topic_id, {})}
    outside = {
        term for topic_id, terms in vocab.items() if topic_id not in topics for term in terms
    }
    return frozenset(inside - outside)


def _typo_choices(
    surface: dict[str, str], idf: dict[str, float], stem: Callable[[str], str]
) -> dict[str, str]:
    """Known spellings, each with the term it stands for ("" for a stop word)."""
    choices = dict.fromkeys(STOP_WORDS, "")
    choices.update((word, "") for word, target in WORDS.items() if target in STOP_WORDS)
    choices.update((word, stem(target)) for word, target in WORDS.items() if stem(target) in idf)
    choices.update(surface)
    choices.update((term, term) for term in idf)
    return choices
