"""Help at intake: classify a citizen's free Chinese text into a problem type.

The model is TF-IDF over jieba word tokens plus character 1–3-grams, fed to a linear SVM
(scikit-learn ``LinearSVC``) whose scores become probabilities through a softmax temperature
fitted on out-of-fold scores. It is trained from the labelled set shipped in
``events/data/training.jsonl`` (rows with ``split == "train"``) at first use, then kept in memory
for the life of the process and stored as a plain ``.npz`` (no pickle) under
``CITYBASE_HOME/tmp`` so the next process skips training. Training is deterministic: the same data
gives the same model and the same probabilities.

Scoring does not go through scikit-learn at request time: the fitted vocabulary, idf weights and
coefficients are copied into NumPy arrays and a text is scored with a dictionary lookup and one
small matrix product (well under a millisecond; intake runs at 1,000 orders/s).

``evaluate()`` reports accuracy, macro-F1 and top-3 accuracy of the shipped model on the held-out
rows (``split == "test"``); the generator ``tools/make_training.py`` (in the repository, not the package) explains why those rows are
not near-duplicates of the training rows.

Public API::

    classify(text, top=3) -> [(type_code, probability), ...]   # best first; [] for empty/garbage
    problem_types() -> [dict, ...]                              # data/problem_types.json
    problem_type(code) -> dict | None
    evaluate() -> dict
    warm_up() -> None                                           # train/load now, not on first call
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["classify", "evaluate", "problem_type", "problem_types", "warm_up", "DATA_DIR"]

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
TYPES_PATH = DATA_DIR / "problem_types.json"
TRAINING_PATH = DATA_DIR / "training.jsonl"

MODEL_VERSION = "tfidf-jieba-char13-linearsvc-temp-v1"
C_REGULARISATION = 0.5
CALIBRATION_FOLDS = 3
CONFIDENT = 0.6
"""Top probability from which ``evaluate()`` counts a suggestion as confident (reported only)."""

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_RUN = re.compile(rf"[{_CJK}a-z0-9]+")
_DIGITS = re.compile(r"\d+")
_MEANINGFUL = re.compile(rf"[{_CJK}a-z]")


# ---------------------------------------------------------------- reference data


@lru_cache(maxsize=1)
def _types_doc() -> dict[str, Any]:
    return json.loads(TYPES_PATH.read_text(encoding="utf-8"))


def problem_types() -> list[dict[str, Any]]:
    """The shipped problem types: {code, name, kind, major_code, major_name, minor_code,
    minor_name, sla{unit, sign_in, handle, warn_ratio, escalation}, default_unit_key, keywords,
    code_basis} — a fresh copy each call, safe to modify."""
    return copy.deepcopy(_types_doc()["types"])


@lru_cache(maxsize=1)
def _types_by_code() -> dict[str, dict[str, Any]]:
    return {t["code"]: t for t in _types_doc()["types"]}


def problem_type(code: str) -> dict[str, Any] | None:
    """One shipped problem type by code (a copy), or None."""
    t = _types_by_code().get(code)
    return copy.deepcopy(t) if t is not None else None


# ---------------------------------------------------------------- tokenisation

_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba() -> ModuleType:
    """jieba, initialised quietly with its cache under CITYBASE_HOME/tmp."""
    global _jieba_ready
    import jieba

    if _jieba_ready:
        return jieba
    with _jieba_lock:
        if not _jieba_ready:
            jieba.setLogLevel(logging.WARNING)
            if not jieba.dt.initialized:
                tmp = _tmp_dir()
                if tmp is not None:
                    jieba.dt.tmp_dir = str(tmp)
                jieba.dt.initialize()
            _jieba_ready = True
    return jieba


def _tmp_dir() -> Path | None:
    try:
        from citybase.config import get_settings

        tmp = get_settings().home_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp
    except Exception:  # noqa: BLE001 - an unwritable home must not break classification
        return None


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return _DIGITS.sub("0", text)


def _features(text: str) -> list[str]:
    """Word tokens ('w|…') and character 1–3-grams within runs of CJK/alphanumerics ('c|…')."""
    norm = _normalise(text)
    runs = _RUN.findall(norm)
    if not runs:
        return []
    out: list[str] = []
    cut = _jieba().lcut
    for run in runs:
        for tok in cut(run, HMM=False):
            out.append("w|" + tok)
        n = len(run)
        for i in range(n):
            out.append("c|" + run[i])
            if i + 1 < n:
                out.append("c|" + run[i : i + 2])
            if i + 2 < n:
                out.append("c|" + run[i : i + 3])
    return out


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class _Model:
    classes: tuple[str, ...]
    vocab: dict[str, int]
    idf: np.ndarray  # (n_features,)
    weights: np.ndarray  # (n_features, n_classes), C-contiguous rows per feature
    intercept: np.ndarray  # (n_classes,)
    train_seconds: float
    n_train: int
    source: str  # "trained" | "cache"
    temperature: float = 1.0

    def scores(self, text: str) -> np.ndarray | None:
        feats = _features(text)
        if not feats:
            return None
        counts = Counter(f for f in feats if f in self.vocab)
        if not counts:
            return None
        idx = np.fromiter((self.vocab[f] for f in counts), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        x = tf * self.idf[idx]
        norm = float(np.sqrt(x @ x))
        if norm == 0.0:
            return None
        z = (x / norm) @ self.weights[idx] + self.intercept
        z -= z.max()
        p = np.exp(z)
        return p / p.sum()


def _read_training() -> list[dict[str, str]]:
    rows = []
    with TRAINING_PATH.open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def _fingerprint() -> str:
    h = hashlib.sha256(MODEL_VERSION.encode())
    h.update(str(C_REGULARISATION).encode())
    for p in (TRAINING_PATH, TYPES_PATH):
        h.update(p.read_bytes())
    try:
        import sklearn

        h.update(sklearn.__version__.encode())
    except ImportError:  # pragma: no cover - sklearn is a dependency
        pass
    return h.hexdigest()[:20]


def _fit(texts: list[str], labels: list[str], groups: list[str] | None = None) -> _Model:
    """Fit the vectoriser and a linear SVM, then calibrate its scores into probabilities.

    Calibration is one softmax temperature fitted on out-of-fold decision values (folds grouped
    by core phrasing when ``groups`` is given, so the margins it sees are those of unseen
    phrasing, as at intake). The temperature is folded into the stored weights, so scoring is one softmax.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import GroupKFold, StratifiedKFold
    from sklearn.svm import LinearSVC

    t0 = time.perf_counter()
    vec = TfidfVectorizer(analyzer=_features, sublinear_tf=True, min_df=2, dtype=np.float64)
    x = vec.fit_transform(texts)
    y = np.asarray(labels)
    classes = np.unique(y)
    oof = np.zeros((len(y), len(classes)))
    if groups is not None and len(set(groups)) >= CALIBRATION_FOLDS:
        splits = GroupKFold(n_splits=CALIBRATION_FOLDS).split(x, y, groups)
    else:
        splits = StratifiedKFold(n_splits=CALIBRATION_FOLDS).split(x, y)
    for fit_idx, oof_idx in splits:
        fold = LinearSVC(C=C_REGULARISATION, random_state=0).fit(x[fit_idx], y[fit_idx])
        cols = np.searchsorted(classes, fold.classes_)
        oof[np.ix_(oof_idx, cols)] = fold.decision_function(x[oof_idx])
        missing = np.setdiff1d(np.arange(len(classes)), cols)
        oof[np.ix_(oof_idx, missing)] = -10.0
    temperature = _fit_temperature(oof, np.searchsorted(classes, y))
    clf = LinearSVC(C=C_REGULARISATION, random_state=0).fit(x, y)
    seconds = time.perf_counter() - t0
    return _Model(
        classes=tuple(str(c) for c in clf.classes_),
        vocab={str(k): int(v) for k, v in vec.vocabulary_.items()},
        idf=np.asarray(vec.idf_, dtype=np.float64),
        weights=np.ascontiguousarray(clf.coef_.T / temperature, dtype=np.float64),
        intercept=np.asarray(clf.intercept_ / temperature, dtype=np.float64),
        train_seconds=seconds,
        n_train=len(texts),
        source="trained",
        temperature=float(temperature),
    )


def _fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The softmax temperature T minimising the log-loss of softmax(scores / T)."""

    def nll(t: float) -> float:
        z = scores / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(truth)), truth].mean())

    lo, hi = math.log(0.01), math.log(10.0)
    for _ in range(60):  # golden-section search on log T (the loss is unimodal in T)
        a = hi - (hi - lo) / 1.618033988749895
        b = lo + (hi - lo) / 1.618033988749895
        if nll(math.exp(a)) < nll(math.exp(b)):
            hi = b
        else:
            lo = a
    return math.exp((lo + hi) / 2)


def _cache_path() -> Path | None:
    tmp = _tmp_dir()
    return tmp / f"classifier-{_fingerprint()}.npz" if tmp is not None else None


def _save(model: _Model, path: Path) -> None:
    terms = np.empty(len(model.vocab), dtype=object)
    for term, i in model.vocab.items():
        terms[i] = term
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        classes=np.array(model.classes, dtype=str),
        terms=terms.astype(str),
        idf=model.idf,
        weights=model.weights,
        intercept=model.intercept,
        meta=np.array([model.train_seconds, model.n_train, model.temperature], dtype=np.float64),
    )
    os.replace(tmp, path)
    for stale in path.parent.glob("classifier-*.npz"):  # models of earlier data or code versions
        if stale != path:
            stale.unlink(missing_ok=True)


def _load(path: Path) -> _Model:
    with np.load(path, allow_pickle=False) as z:
        terms = z["terms"].tolist()
        meta = z["meta"]
        return _Model(
            classes=tuple(z["classes"].tolist()),
            vocab={t: i for i, t in enumerate(terms)},
            idf=z["idf"],
            weights=np.ascontiguousarray(z["weights"]),
            intercept=z["intercept"],
            train_seconds=float(meta[0]),
            n_train=int(meta[1]),
            source="cache",
            temperature=float(meta[2]),
        )


_model_lock = threading.Lock()
_model: _Model | None = None


def _get_model() -> _Model:
    global _model
    if _model is not None:
        return _model
    with _model_lock:
        if _model is None:
            path = _cache_path()
            model = None
            if path is not None and path.exists():
                try:
                    model = _load(path)
                except Exception as exc:  # noqa: BLE001 - a broken cache is retrained
                    log.warning("classifier cache %s unreadable (%s); retraining", path, exc)
            if model is None:
                rows = [r for r in _read_training() if r["split"] == "train"]
                model = _fit([r["text"] for r in rows], [r["type"] for r in rows], [r["core"] for r in rows])
                log.info("classifier trained on %d texts in %.2f s", model.n_train, model.train_seconds)
                if path is not None:
                    try:
                        _save(model, path)
                    except OSError as exc:
                        log.warning("classifier cache not written (%s)", exc)
            _model = model
    return _model


def warm_up() -> None:
    """Train (or load) the model now, e.g. at server start, instead of on the first intake."""
    _get_model()


def _reset_for_tests() -> None:
    """Forget the in-memory model (tests measure training)."""
    global _model
    with _model_lock:
        _model = None


# ---------------------------------------------------------------- public API


def classify(text: str, top: int = 3) -> list[tuple[str, float]]:
    """The ``top`` most likely problem types for a free Chinese text, best first, as
    ``(type_code, probability)``. Empty, non-text or entirely unknown input gives ``[]``;
    never raises for any string."""
    if not isinstance(text, str) or top <= 0:
        return []
    text = text[:4000]
    if not _MEANINGFUL.search(_normalise(text)):
        return []
    model = _get_model()
    p = model.scores(text)
    if p is None:
        return []
    k = min(top, len(p))
    order = np.argsort(-p, kind="stable")[:k]
    return [(model.classes[i], float(p[i])) for i in order]


def evaluate() -> dict[str, Any]:
    """Accuracy, macro-F1 and top-3 accuracy of the shipped model on the held-out split."""
    from sklearn.metrics import f1_score

    model = _get_model()
    test = [r for r in _read_training() if r["split"] == "test"]
    y_true = [r["type"] for r in test]
    y_pred: list[str] = []
    top_p: list[float] = []
    top3 = 0
    per_class: dict[str, list[int]] = {}
    t0 = time.perf_counter()
    for r in test:
        res = classify(r["text"], top=3)
        codes = [c for c, _ in res]
        y_pred.append(codes[0] if codes else "")
        top_p.append(res[0][1] if res else 0.0)
        top3 += r["type"] in codes
        hit = per_class.setdefault(r["type"], [0, 0])
        hit[0] += bool(codes) and codes[0] == r["type"]
        hit[1] += 1
    seconds = time.perf_counter() - t0
    correct = sum(a == b for a, b in zip(y_true, y_pred, strict=True))
    labels = sorted(set(y_true))
    weakest = sorted(((h[0] / h[1], code) for code, h in per_class.items()))[:5]
    confident = [(p, ok) for p, ok in zip(top_p, (a == b for a, b in zip(y_true, y_pred, strict=True)), strict=True)
                 if p >= CONFIDENT]
    return {
        "accuracy": correct / len(test),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "top3_accuracy": top3 / len(test),
        "mean_top_probability": sum(top_p) / len(test),
        "confident_threshold": CONFIDENT,
        "confident_coverage": len(confident) / len(test),
        "confident_accuracy": (sum(ok for _, ok in confident) / len(confident)) if confident else None,
        "temperature": model.temperature,
        "n_train": model.n_train,
        "n_test": len(test),
        "n_classes": len(model.classes),
        "train_seconds": model.train_seconds,
        "model_source": model.source,
        "mean_classify_ms": seconds / len(test) * 1000,
        "weakest_classes": [{"code": c, "accuracy": round(a, 3)} for a, c in weakest],
        "model": MODEL_VERSION,
    }
