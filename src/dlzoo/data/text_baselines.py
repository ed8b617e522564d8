"""The classical baseline a text classifier must beat: TF-IDF features and a logistic
regression (scikit-learn), on the same splits as the network."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor


def tfidf_logistic_regression(
    train_texts: list[tuple[str, ...]],
    train_labels: Tensor,
    test_texts: list[tuple[str, ...]],
    test_labels: Tensor,
) -> dict[str, Any]:
    """Test accuracy and macro-F1 of TF-IDF (words and word pairs) + logistic regression;
    each text of a pair gets its own vectorizer, their features side by side."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    columns = len(train_texts[0])
    train_parts, test_parts = [], []
    for c in range(columns):
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        try:
            train_parts.append(vectorizer.fit_transform([t[c] for t in train_texts]))
        except ValueError:  # too few words for min_df=2 (tiny data)
            vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
            train_parts.append(vectorizer.fit_transform([t[c] for t in train_texts]))
        test_parts.append(vectorizer.transform([t[c] for t in test_texts]))
    model = LogisticRegression(max_iter=2000, C=4.0)
    model.fit(hstack(train_parts).tocsr(), train_labels.numpy())
    predicted = model.predict(hstack(test_parts).tocsr())
    truth = test_labels.numpy()
    return {
        "how": "tfidf_logreg",
        "description": "TF-IDF (words and word pairs) + logistic regression",
        "metric": "test/acc",
        "value": float(np.mean(predicted == truth)),
        "macro_f1": float(f1_score(truth, predicted, average="macro")),
        "higher_is_better": True,
    }
