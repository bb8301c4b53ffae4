"""Chinese text helpers for catalogue search: jieba tokens and pinyin (full and initials)."""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

_lock = threading.Lock()
_ready = False
_PUNCT = re.compile(r"[\s\u3000,，。.;；:：、/\\|()（）\[\]【】{}<>《》\"'“”‘’!！?？·\-_+=*&^%$#@~`]+")
# Words so common in catalogue names that they may be left out of a query without losing meaning.
SOFT_WORDS = frozenset({"的", "和", "与", "及", "数据", "信息", "资源", "查询", "表", "库", "情况", "相关"})


def _jieba():
    global _ready
    import jieba

    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _ready = True
    return jieba


def tokens(text: str) -> list[str]:
    """Search-mode tokens (long words and their sub-words), lower-cased, without punctuation."""
    if not text:
        return []
    out: list[str] = []
    for chunk in _PUNCT.split(text.lower()):
        if not chunk:
            continue
        out.extend(t for t in _jieba().lcut_for_search(chunk) if t.strip() and not _PUNCT.fullmatch(t))
        if len(chunk) <= 12:
            out.append(chunk)
    return out


def query_terms(q: str) -> list[str]:
    """The terms of a query, each of which a result must contain (soft words only if nothing else)."""
    terms: list[str] = []
    for chunk in _PUNCT.split(q.lower().strip()):
        if not chunk:
            continue
        if chunk.isascii():
            terms.append(chunk)
            continue
        terms.extend(t for t in _jieba().lcut(chunk) if t.strip() and not _PUNCT.fullmatch(t))
    seen: list[str] = []
    for t in terms:
        if t not in seen:
            seen.append(t)
    hard = [t for t in seen if t not in SOFT_WORDS]
    return hard or seen


@lru_cache(maxsize=4096)
def pinyin_forms(text: str) -> tuple[str, str]:
    """(initials, full pinyin) of the Chinese characters of ``text``, e.g. 户籍人口 → ("hjrk", "hujirenkou")."""
    from pypinyin import Style, lazy_pinyin

    han = "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")
    if not han:
        return "", ""
    full = lazy_pinyin(han, style=Style.NORMAL, errors="ignore")
    initials = "".join(p[0] for p in full if p)
    return initials, "".join(full)
