"""The conversion model: calibrated logistic regression (scikit-learn) over the features of
:mod:`loop.leads.features`, trained on earlier periods and checked on the latest (a time split, never a
random split across periods).

Why logistic regression: on the simulator's planted histories (three seeds, 6,000 accounts, five months)
calibrated ``HistGradientBoostingClassifier`` reached an AUC only 0.002–0.010 higher on the held-out month
(0.742 / 0.728 / 0.722 against 0.740 / 0.719 / 0.712), with a slightly worse Brier score and a lift now
higher, now lower; logistic regression is cheaper to score, and its per-feature contributions
``coef × (x − mean) / scale`` are exact — the reasons a rep reads are the model's own arithmetic, not an
approximation. ``CalibratedClassifierCV`` (sigmoid, 3 folds,
``ensemble=False``) calibrates its probabilities; the Brier score on the latest period says how well.

Metrics on the held-out latest period: AUC (``roc_auc_score``), Brier score (``brier_score_loss``) and
the top-decile lift (acceptance rate among the 10 % highest scores ÷ the overall rate).

The fitted model is kept in ``lead_models.model_blob`` (pickle) with its SHA-256 in ``model_sha256``;
:func:`load_model` unpickles it only when the bytes hash to the recorded value (a damaged or swapped
blob is refused, and the rule scores instead). Pickle runs code when loaded: the blob is read only from
the warehouse the pipeline itself writes, never from a file a user hands in.
"""
from __future__ import annotations

import hashlib
import math
import pickle
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from loop.leads.features import CATEGORICAL, NUMERIC

MAX_CATEGORIES = 40     # per categorical feature, the most frequent in training; the rest share "other"


class ModelBlobError(Exception):
    """A stored model whose bytes do not hash to the recorded SHA-256."""


@dataclass
class Design:
    """Categorical features one-hot by the categories seen in training, numeric ones as they are."""

    categories: dict[str, list[str]]
    numeric: tuple[str, ...] = NUMERIC

    @classmethod
    def fit(cls, features: pl.DataFrame) -> "Design":
        cats = {}
        for c in CATEGORICAL:
            counts = features[c].value_counts(sort=True)
            cats[c] = [v for v in counts[c].to_list()[:MAX_CATEGORIES] if v is not None]
        return cls(cats)

    @property
    def columns(self) -> list[tuple[str, str | None]]:
        """(feature, category) per matrix column; category None for a numeric feature."""
        return [(c, v) for c in CATEGORICAL for v in self.categories[c]] + [(c, None) for c in self.numeric]

    def matrix(self, features: pl.DataFrame) -> np.ndarray:
        exprs = [(pl.col(c) == v).fill_null(False).cast(pl.Float32).alias(f"{c}={v}")
                 for c in CATEGORICAL for v in self.categories[c]]
        exprs += [pl.col(c).cast(pl.Float32) for c in self.numeric]
        return features.select(exprs).to_numpy()


@dataclass
class LeadModel:
    version: str
    design: Design
    estimator: CalibratedClassifierCV
    features: list[str] = field(default_factory=lambda: list(CATEGORICAL + NUMERIC))

    def predict(self, features: pl.DataFrame) -> np.ndarray:
        """Calibrated probability of acceptance per row."""
        if features.height == 0:
            return np.zeros(0)
        with threadpool_limits(1):      # BLAS threads only fight each other on this size (10x slower)
            return self.estimator.predict_proba(self.design.matrix(features))[:, 1]

    def predict_explained(self, features: pl.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The probabilities and, per feature (summed over its one-hot columns), its contribution
        ``coef × (x − mean) / scale`` to the log-odds (one design matrix for both)."""
        x = self.design.matrix(features)
        with threadpool_limits(1):
            scores = self.estimator.predict_proba(x)[:, 1]
        pipe: Pipeline = self.estimator.calibrated_classifiers_[0].estimator
        scaler: StandardScaler = pipe.named_steps["scale"]
        weight = (pipe.named_steps["logit"].coef_[0] / np.where(scaler.scale_ > 0, scaler.scale_, 1.0))
        out: dict[str, np.ndarray] = {}
        for j, (name, _) in enumerate(self.design.columns):
            part = (x[:, j] - np.float32(scaler.mean_[j])) * np.float32(weight[j])
            out[name] = out[name] + part if name in out else part
        return scores, out

    def to_blob(self) -> tuple[bytes, str]:
        blob = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        return blob, hashlib.sha256(blob).hexdigest()


def load_model(blob: bytes, sha256: str) -> LeadModel:
    """Unpickle a stored model, only when its bytes hash to the recorded SHA-256."""
    got = hashlib.sha256(blob).hexdigest()
    if got != sha256:
        raise ModelBlobError(f"stored model's SHA-256 is {got[:12]}…, recorded {sha256[:12]}…: not loaded")
    return pickle.loads(blob)  # noqa: S301 - our own warehouse's blob, checked against its recorded hash


def fit_model(features: pl.DataFrame, labels: np.ndarray, version: str, max_iter: int = 300) -> LeadModel:
    design = Design.fit(features)
    pipe = Pipeline([("scale", StandardScaler()), ("logit", LogisticRegression(C=1.0, max_iter=max_iter))])
    est = CalibratedClassifierCV(pipe, method="sigmoid", cv=3, ensemble=False)
    with threadpool_limits(1):          # one BLAS thread: 13x less CPU than the default on 2 busy cores
        est.fit(design.matrix(features), labels.astype(int))
    return LeadModel(version=version, design=design, estimator=est)


# ---------------------------------------------------------------- evaluation

def top_decile_lift(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Acceptance rate among the highest-scored tenth (ties broken by position) ÷ the overall rate."""
    n = len(scores)
    rate = float(np.mean(labels)) if n else 0.0
    if n < 10 or rate == 0:
        return None
    top = np.argsort(-scores, kind="stable")[: math.ceil(n / 10)]
    return float(np.mean(labels[top]) / rate)


@dataclass(frozen=True)
class Metrics:
    auc: float | None
    brier: float | None
    lift: float | None

    @classmethod
    def of(cls, scores: np.ndarray, labels: np.ndarray) -> "Metrics":
        both = len(set(labels.tolist())) == 2
        return cls(auc=float(roc_auc_score(labels, scores)) if both else None,
                   brier=float(brier_score_loss(labels, scores)) if len(labels) else None,
                   lift=top_decile_lift(scores, labels))


@dataclass
class TrainResult:
    model: LeadModel | None
    trained: bool                   # False: too few outcomes (reason says why)
    reason: str
    outcomes: int
    train_rows: int = 0
    train_positives: int = 0
    eval_rows: int = 0
    eval_positives: int = 0
    train_from: str | None = None
    train_to: str | None = None
    eval_period: str | None = None
    metrics: Metrics | None = None


def time_split_train(features: pl.DataFrame, *, version: str, min_outcomes: int, min_period_outcomes: int,
                     max_train_rows: int, max_iter: int = 300) -> TrainResult:
    """Train on every period but the latest, evaluate on the latest (``features`` holds ``period``,
    ``label`` and ``as_of``: offers with a known outcome). No model below the thresholds."""
    n = features.height
    if n < min_outcomes:
        return TrainResult(None, False, f"{n} outcomes, fewer than {min_outcomes}", n)
    periods = sorted(features["period"].unique().to_list())
    if len(periods) < 2:
        return TrainResult(None, False, f"outcomes from one period only ({periods[0]}): no later period to check on", n)
    latest = periods[-1]
    test = features.filter(pl.col("period") == latest)
    train = features.filter(pl.col("period") < latest).sort("as_of").tail(max_train_rows)
    y_train, y_test = train["label"].to_numpy(), test["label"].to_numpy()
    common = dict(outcomes=n, train_rows=train.height, train_positives=int(y_train.sum()), eval_rows=test.height,
                  eval_positives=int(y_test.sum()), train_from=periods[0], train_to=periods[-2], eval_period=latest)
    if test.height < min_period_outcomes or len(set(y_test.tolist())) < 2:
        return TrainResult(None, False, f"the latest period {latest} has {test.height} outcomes "
                                        f"({int(y_test.sum())} accepted): too few to check a model on", **common)
    if len(set(y_train.tolist())) < 2 or int(y_train.sum()) < 3 or int((1 - y_train).sum()) < 3:
        return TrainResult(None, False, "the training periods need accepted and not accepted offers", **common)
    model = fit_model(train, y_train, version, max_iter=max_iter)
    return TrainResult(model, True, "trained", metrics=Metrics.of(model.predict(test), y_test), **common)
