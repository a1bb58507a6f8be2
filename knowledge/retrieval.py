"""FAQ retrieval: jieba with the civic dictionary and synonyms, then BM25 per language."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import jieba
import numpy as np
import opencc

from knowledge.classifier import features
from knowledge.data import load_yaml
from knowledge.faq import LANGUAGES, FaqEntry
from knowledge.normalize import normalize

HERE = Path(__file__).parent
CIVIC_DICT = HERE / "civic_dict.txt"
SYNONYMS = HERE / "synonyms.yaml"
STOPWORDS = HERE / "stopwords.txt"
KEYWORD_REPEAT = 2  # keywords count twice: they are the topic's most distinctive words
SUM_SHARE = 0.1  # how much the other matching phrasings of an entry add to its best one
SEARCH_DEPTH = 3  # matches computed per question (callers take what they need)
BIGRAM_WEIGHT = 0.35  # Chinese character-pair BM25, added to the word BM25 (tuned on dev)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN = re.compile(r"[a-z]")
_WORD = re.compile(r"[\w\u4e00-\u9fff]")


class Analyzer:
    """Turns a text into the tokens retrieval compares: one jieba.Tokenizer with the civic
    dictionary, traditional → simplified, synonyms to one canonical word, no stopwords."""

    def __init__(
        self,
        tokenizer: jieba.Tokenizer,
        synonyms: Mapping[str, str],
        phrases: Sequence[tuple[str, str]],
        stopwords: frozenset[str],
    ) -> None:
        self._tokenizer = tokenizer
        self._synonyms = synonyms
        self._phrases = phrases
        self._stopwords = stopwords
        self._t2s = opencc.OpenCC("t2s")

    @classmethod
    def load(cls, knowledge_dir: Path | None = None) -> Analyzer:
        """Build the tokenizer and read the dictionary, synonyms and stopwords (a deployment's
        own `civic_dict.txt` and `synonyms.yaml` are added to the packaged ones)."""
        jieba.setLogLevel(logging.WARNING)  # its start-up chatter is not for service logs
        tokenizer = jieba.Tokenizer(dictionary=str(_common_words()))
        tokenizer.initialize()
        synonyms: dict[str, str] = {}
        phrases: list[tuple[str, str]] = []
        for folder in (HERE, knowledge_dir):
            if folder is None:
                continue
            if (folder / CIVIC_DICT.name).is_file():
                with (folder / CIVIC_DICT.name).open("rb") as handle:  # jieba leaves paths open
                    tokenizer.load_userdict(handle)
            if (folder / SYNONYMS.name).is_file():
                _read_synonyms(folder / SYNONYMS.name, synonyms, phrases)
        for canonical in {*synonyms.values(), *(c for _, c in phrases)}:
            if _CJK.search(canonical):
                tokenizer.add_word(canonical, freq=2000)
        phrases.sort(key=lambda pair: len(pair[0]), reverse=True)
        lines = STOPWORDS.read_text("utf-8").splitlines()
        stopwords = frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))
        return cls(tokenizer, synonyms, phrases, stopwords)

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one analyzer per process
    def _simplified(self, text: str) -> str:
        # The router, the classifier and retrieval all start from the same normalised text.
        return self._t2s.convert(normalize(text))

    def tokens(self, text: str) -> list[str]:
        """The retrieval tokens of `text`."""
        text = self._simplified(text)
        for phrase, canonical in self._phrases:
            if phrase in text:
                text = text.replace(phrase, f" {canonical} ")
        out = []
        for token in self._tokenizer.cut_for_search(text):
            token = token.strip()
            if not token or not _WORD.search(token):
                continue
            token = self._synonyms.get(token, token)
            if token in self._stopwords:
                continue
            out.append(_stem(token))
        return out

    def bigrams(self, text: str) -> list[str]:
        """Chinese character pairs of the text: they still match when jieba cuts a typo or an
        unusual word differently from the knowledge base."""
        text = self._simplified(text)
        pairs: list[str] = []
        for run in _CJK_RUN.findall(text):
            pairs.extend(run[i : i + 2] for i in range(len(run) - 1))
        return pairs

    def words(self, text: str) -> list[str]:
        """The text's words for the intent classifier: normalised, simplified, cut by the
        same jieba tokenizer, question words kept (they tell a question from a report)."""
        text = self._simplified(text)
        return features(self._tokenizer.lcut(text), text)


COMMON_WORDS = 80_000


def _common_words() -> Path:
    """jieba's own dictionary cut to its most frequent words, made once per jieba version in
    the cache folder: it loads in a fifth of the time of the full one (the civic dictionary
    and the HMM cover what it leaves out), which keeps start-up under two seconds."""
    source = Path(jieba.__file__).with_name("dict.txt")
    name = f"jieba-{jieba.__version__}-{COMMON_WORDS}.txt"
    candidates = [Path(tempfile.gettempdir()) / "linli"]
    with contextlib.suppress(RuntimeError):  # no home folder: the temp folder will do
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        candidates.insert(0, Path(cache) / "linli")
    for folder in candidates:
        if (folder / name).is_file():
            return folder / name
    rows = [line.split(" ") for line in source.read_text("utf-8").splitlines() if line]
    rows.sort(key=lambda row: -int(row[1]))
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            break
        except OSError:
            continue
    target = folder / name
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text("\n".join(" ".join(row) for row in rows[:COMMON_WORDS]), "utf-8")
    partial.replace(target)  # atomic: concurrent workers never read half a file
    return target


def _stem(token: str) -> str:
    # A light English plural strip so "permits" finds "permit"; Chinese passes unchanged.
    if len(token) > 3 and token.isascii() and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def _read_synonyms(path: Path, synonyms: dict[str, str], phrases: list[tuple[str, str]]) -> None:
    data: Any = load_yaml(path.read_text("utf-8")) or {}
    for language in LANGUAGES:
        for canonical, variants in (data.get(language) or {}).items():
            canonical = normalize(str(canonical))
            for variant in [canonical, *(variants or [])]:
                variant = normalize(str(variant))
                multiword = " " in variant or (language == "zh" and len(variant) > 1)
                if multiword and variant != canonical:
                    phrases.append((variant, canonical.replace(" ", "")))
                synonyms[variant] = canonical.replace(" ", "")
            if " " in canonical:
                phrases.append((canonical, canonical.replace(" ", "")))


@dataclass(frozen=True, slots=True)
class Match:
    """An FAQ entry for a question: its BM25 score, the share of the question's words the
    entry knows, and the calibrated probability that it is the right answer."""

    entry: FaqEntry
    score: float
    coverage: float
    confidence: float


# P(right answer) = logistic(a·score + b·coverage + c·rival + d), where `rival` is the best
# other entry's score as a share of this one's (a near tie means doubt). Fitted on the
# development set (tests/data/understanding_dev.yaml): `benchmarks/understanding.py --calibrate`.
CALIBRATION = (0.16, 6.117, -1.388, -3.059)


def calibrated(score: float, coverage: float, rival: float) -> float:
    """The probability that an entry with this score, coverage and rival share is right."""
    a, b, c, d = CALIBRATION
    return 1.0 / (1.0 + math.exp(-(a * score + b * coverage + c * rival + d)))


def rival_share(scores: Sequence[float], index: int) -> float:
    """The best other score as a share of score `index` (0 when it stands alone)."""
    others = [v for i, v in enumerate(scores) if i != index]
    return min(max(others) / scores[index], 1.0) if others and scores[index] > 0 else 0.0


class _Bm25:
    """BM25 over documents that each belong to an entry; an entry scores its best document
    plus a tenth of all of them (several matching phrasings are more evidence than one)."""

    def __init__(self, documents: list[tuple[FaqEntry, list[str]]]) -> None:
        kept = [(entry, tokens) for entry, tokens in documents if tokens]
        corpus = [tokens for _, tokens in kept]
        self.bm25 = bm25s.BM25()
        if corpus:
            self.bm25.index(corpus, show_progress=False)
        self.corpus = corpus
        # An entry's documents are consecutive: score them per entry with numpy reductions.
        self.entries: list[FaqEntry] = []
        starts: list[int] = []
        for index, (entry, _) in enumerate(kept):
            if not self.entries or self.entries[-1].id != entry.id:
                self.entries.append(entry)
                starts.append(index)
        self.starts = np.array(starts, dtype=np.int64)

    def scores(self, tokens: list[str]) -> dict[str, tuple[float, FaqEntry]]:
        """Entry id → (score, entry) for entries with any match."""
        if not tokens or not self.entries:
            return {}
        raw = self.bm25.get_scores(tokens)
        combined = np.maximum.reduceat(raw, self.starts) + SUM_SHARE * np.add.reduceat(
            raw, self.starts
        )
        return {
            self.entries[i].id: (float(combined[i]), self.entries[i])
            for i in np.nonzero(combined)[0]
        }


class _LanguageIndex:
    """Word BM25 (and, for Chinese, character-pair BM25) over every phrasing of every entry."""

    def __init__(self, entries: Iterable[FaqEntry], language: str, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.vocabulary: dict[str, set[str]] = {}
        words: list[tuple[FaqEntry, list[str]]] = []
        pairs: list[tuple[FaqEntry, list[str]]] = []
        for entry in entries:
            texts = list(entry.phrasings(language))
            keywords = " ".join(entry.keywords.get(language, ()))
            vocabulary = self.vocabulary.setdefault(entry.id, set())
            for text in texts:
                words.append((entry, analyzer.tokens(text)))
            words.append((entry, analyzer.tokens(keywords) * KEYWORD_REPEAT))
            for _, tokens in words[-len(texts) - 1 :]:
                vocabulary.update(tokens)
            if language == "zh":
                pairs.extend((entry, analyzer.bigrams(text)) for text in (*texts, keywords))
        self.words = _Bm25(words)
        self.pairs = _Bm25(pairs) if pairs else None
        df: dict[str, int] = {}
        for tokens in self.words.corpus:
            for token in set(tokens):
                df[token] = df.get(token, 0) + 1
        n = len(self.words.corpus)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.unknown_idf = math.log(1 + (n + 0.5) / 0.5)

    def search(self, text: str, tokens: list[str]) -> dict[str, tuple[float, float, FaqEntry]]:
        """Per entry: (score, coverage); coverage is the IDF-weighted share of the question's
        words that the entry knows."""
        found = self.words.scores(tokens)
        if self.pairs is not None:
            for entry_id, (score, entry) in self.pairs.scores(self.analyzer.bigrams(text)).items():
                current = found.get(entry_id, (0.0, entry))[0]
                found[entry_id] = (current + BIGRAM_WEIGHT * score, entry)
        if not found:
            return {}
        weight = {t: self.idf.get(t, self.unknown_idf) for t in set(tokens)}
        all_weight = sum(weight.values()) or 1.0
        result = {}
        for entry_id, (score, entry) in found.items():
            known = self.vocabulary[entry_id]
            covered = sum(w for t, w in weight.items() if t in known) / all_weight
            result[entry_id] = (score, covered, entry)
        return result


class FaqIndex:
    """Finds the FAQ entries that answer a question, in Chinese or English."""

    def __init__(self, entries: Mapping[str, FaqEntry], analyzer: Analyzer) -> None:
        self.entries = dict(entries)
        self.analyzer = analyzer
        self._indexes = {
            lang: _LanguageIndex(entries.values(), lang, analyzer) for lang in LANGUAGES
        }

    def search(self, text: str, k: int = 3) -> list[Match]:
        """The `k` best entries, best first. Results are remembered for recent questions: the
        router and the answer look up the same message."""
        return list(self._cached(text, max(k, SEARCH_DEPTH))[:k])

    @functools.lru_cache(maxsize=512)  # noqa: B019 - one index per process, kept for its life
    def _cached(self, text: str, k: int) -> tuple[Match, ...]:
        return tuple(self._search(text, k))

    def _search(self, text: str, k: int) -> list[Match]:
        lowered = text.lower()
        languages = [
            lang for lang, pattern in (("zh", _CJK), ("en", _LATIN)) if pattern.search(lowered)
        ]
        tokens = self.analyzer.tokens(text)
        merged: dict[str, tuple[float, float, FaqEntry]] = {}
        for language in languages:
            for entry_id, found in self._indexes[language].search(text, tokens).items():
                if entry_id not in merged or found[0] > merged[entry_id][0]:
                    merged[entry_id] = found
        ranked = sorted(merged.values(), key=lambda f: f[0], reverse=True)[: max(k, 2)]
        scores = [score for score, _, _ in ranked]
        matches = [
            Match(
                entry,
                round(score, 4),
                round(cover, 4),
                round(calibrated(score, cover, rival_share(scores, i)), 4),
            )
            for i, (score, cover, entry) in enumerate(ranked)
        ]
        return matches[:k]
