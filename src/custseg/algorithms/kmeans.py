"""K-Means: k-means++ with 4 restarts; k by the shared rule (metrics.choose_k) on inertia,
scanned on the evaluation sample; the chosen k is then fitted on the whole fit sample and
every customer goes to the nearest centroid. A refit with a previous version keeps its k
when that k is as good (within the rule's tolerance) and starts from its centres."""

from __future__ import annotations

from ..metrics import choose_k
from .base import Fit, Segmenter, Spaces, k_range, scan_candidates
from .prototypes import CentroidModel, centroid_model

N_INIT = 4


class KMeansSegmenter(Segmenter):
    name = "kmeans"
    label = "K-Means"
    model = CentroidModel

    def fit(self, spaces: Spaces, evaluation: Spaces) -> Fit:
        from sklearn.cluster import KMeans   # here: scoring never imports scikit-learn

        s = self.settings
        X, X_eval = spaces.full, evaluation.full
        scan = []
        for k in k_range(s, len(X_eval)):
            km = KMeans(n_clusters=k, n_init=N_INIT, random_state=s.random_state).fit(X_eval)
            scan.append((k, "inertia", km.inertia_, km.labels_))
        candidates = scan_candidates(scan, X_eval, s)
        chosen = s.kmeans_k or self.sticky_k(candidates, choose_k(candidates))
        warm = self.warm_centres(X)
        if warm is not None and len(warm) == chosen:
            km = KMeans(n_clusters=chosen, init=warm, n_init=1, random_state=s.random_state).fit(X)
            start = "the previous version's centres"
        else:
            km = KMeans(n_clusters=chosen, n_init=N_INIT, random_state=s.random_state).fit(X)
            start = f"k-means++, {N_INIT} restarts"
        model = centroid_model(self.name, X, km.labels_, km.cluster_centers_)

        def refit(sub: Spaces):
            fitted = KMeans(n_clusters=chosen, n_init=N_INIT, random_state=s.random_state).fit(sub.full)
            return lambda query: fitted.predict(query.full)

        params = {"k": chosen, "k_rule": "fixed" if s.kmeans_k else "silhouette+elbow (inertia)",
                  "start": start, "fit_sample_inertia": float(km.inertia_)}
        return Fit(model, candidates, params, len(X), spaces.head(s.evaluation_sample_size), refit)
