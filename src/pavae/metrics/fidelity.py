"""Distribution distances between real and synthetic images in a feature space.

These metrics compare two sets of feature vectors, typically embeddings of
real and generated radiographs from a frozen network. The chain follows
torch-fidelity: features -> statistics -> a flat dict of floats with stable
keys. All arithmetic is in float64.

- Frechet distance (FID when the features come from Inception): distance
  between Gaussians fitted to each set.
- Kernel Inception distance (KID): unbiased polynomial-kernel MMD^2 averaged
  over random subsets, with no Gaussian assumption and no bias from the
  sample size.
- Improved precision and recall (Kynkaanniemi et al., 2019): how much of
  the synthetic set lies on the real manifold (fidelity) and how much of the
  real manifold the synthetic set covers (diversity).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from pavae.metrics._validation import to_numpy

__all__ = [
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "kernel_inception_distance",
    "precision_recall_knn",
]

# Relative tolerance for symmetry and for negative eigenvalues of a covariance matrix. np.cov of
# float64 features is symmetric and PSD up to rounding, far inside this bound, while a matrix that
# is not a covariance at all fails it.
_COVARIANCE_TOLERANCE = 1e-6

# Target number of float64 entries in one block of pairwise distances (about 64 MiB).
_DISTANCE_BLOCK_ENTRIES = 2**23


def _as_features(values: Any, name: str) -> np.ndarray:
    features = to_numpy(values)
    if features.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D) with one feature vector per row, got shape {features.shape}")
    features = features.astype(np.float64)
    non_finite = int(np.count_nonzero(~np.isfinite(features)))
    if non_finite:
        raise ValueError(f"{name} contains {non_finite} NaN or infinite values; check the feature extractor")
    return features


def _check_same_dimension(real: np.ndarray, fake: np.ndarray) -> None:
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real has shape {real.shape} and fake has shape {fake.shape}; both need the same feature "
            "dimension D, so extract them with the same network layer"
        )


def _as_covariance(values: Any, name: str, dimension: int) -> np.ndarray:
    sigma = to_numpy(values).astype(np.float64)
    if sigma.shape != (dimension, dimension):
        raise ValueError(
            f"{name} must have shape ({dimension}, {dimension}) to match the mean vectors, got shape {sigma.shape}"
        )
    if not np.all(np.isfinite(sigma)):
        raise ValueError(f"{name} contains NaN or infinite values")
    scale = max(float(np.abs(sigma).max()), np.finfo(np.float64).tiny)
    asymmetry = float(np.abs(sigma - sigma.T).max())
    if asymmetry > _COVARIANCE_TOLERANCE * scale:
        raise ValueError(
            f"{name} is not symmetric (max |sigma - sigma.T| = {asymmetry:.3g}); pass a covariance matrix "
            "such as the one from feature_statistics"
        )
    return (sigma + sigma.T) / 2.0


def _check_psd(eigenvalues: np.ndarray, name: str) -> None:
    """Raise ValueError when a covariance has an eigenvalue below 0 by more than rounding explains."""
    scale = max(float(np.abs(eigenvalues).max()), np.finfo(np.float64).tiny)
    if eigenvalues.min() < -_COVARIANCE_TOLERANCE * scale:
        raise ValueError(
            f"{name} is not positive semi-definite (smallest eigenvalue {eigenvalues.min():.3g}, largest "
            f"{eigenvalues.max():.3g}); pass a covariance matrix such as the one from feature_statistics"
        )


def _psd_square_root(sigma: np.ndarray, name: str) -> np.ndarray:
    """Return the symmetric PSD square root of a covariance, clipping rounding-level negative eigenvalues to 0."""
    eigenvalues, eigenvectors = np.linalg.eigh(sigma)
    _check_psd(eigenvalues, name)
    root_eigenvalues = np.sqrt(np.clip(eigenvalues, 0.0, None))
    return (eigenvectors * root_eigenvalues) @ eigenvectors.T


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Compute the Frechet distance between two Gaussians N(mu1, sigma1) and N(mu2, sigma2).

    ``d^2 = |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2))``,
    which is FID when the statistics come from Inception features. The trace
    term is computed without ``scipy.linalg.sqrtm``. Let ``R`` be the
    symmetric square root of ``sigma1`` (from ``np.linalg.eigh``). Then
    ``sigma1 sigma2`` has the same eigenvalues as the symmetric PSD matrix
    ``R sigma2 R``, so the trace is the sum of the square roots of that
    matrix's eigenvalues. This is exact
    for PSD inputs, also when they are singular (fewer samples than feature
    dimensions), and never produces complex values. Eigenvalues below 0 by
    rounding are clipped to 0, and a total below 0 by rounding is returned as 0.

    Args:
        mu1: Mean of the first set, shape ``(D,)``.
        sigma1: Covariance of the first set, shape ``(D, D)``, symmetric PSD.
        mu2: Mean of the second set, shape ``(D,)``.
        sigma2: Covariance of the second set, shape ``(D, D)``, symmetric PSD.

    Returns:
        The squared Frechet distance as a float >= 0, in squared feature units
        (FID reports this squared quantity).

    Raises:
        ValueError: If the shapes do not match (the message names them), a
            value is not finite, or a covariance is not symmetric PSD within a
            relative tolerance of 1e-6.

    Example:
        >>> frechet_distance([0.0], [[1.0]], [2.0], [[4.0]])
        5.0
    """
    mean1 = to_numpy(mu1).astype(np.float64)
    mean2 = to_numpy(mu2).astype(np.float64)
    if mean1.ndim != 1 or mean1.shape != mean2.shape:
        raise ValueError(f"mu1 and mu2 must both have shape (D,), got shapes {mean1.shape} and {mean2.shape}")
    if not (np.all(np.isfinite(mean1)) and np.all(np.isfinite(mean2))):
        raise ValueError("mu1 or mu2 contains NaN or infinite values")
    dimension = mean1.size
    cov1 = _as_covariance(sigma1, "sigma1", dimension)
    cov2 = _as_covariance(sigma2, "sigma2", dimension)

    root1 = _psd_square_root(cov1, "sigma1")
    _check_psd(np.linalg.eigvalsh(cov2), "sigma2")
    product = root1 @ cov2 @ root1
    product_eigenvalues = np.linalg.eigvalsh((product + product.T) / 2.0)
    trace_root = float(np.sqrt(np.clip(product_eigenvalues, 0.0, None)).sum())

    difference = mean1 - mean2
    distance = float(difference @ difference + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_root)
    return max(distance, 0.0)


def feature_statistics(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Compute the mean and the sample covariance (N - 1 denominator) of a feature matrix.

    Args:
        features: Feature vectors, shape ``(N, D)`` with ``N >= 2``.

    Returns:
        ``(mu, sigma)`` in float64 with shapes ``(D,)`` and ``(D, D)``.

    Raises:
        ValueError: If ``features`` is not 2-D, has fewer than 2 rows, or is not finite.

    Example:
        >>> mu, sigma = feature_statistics([[0.0, 1.0], [2.0, 3.0]])
        >>> mu.tolist(), sigma.tolist()
        ([1.0, 2.0], [[2.0, 2.0], [2.0, 2.0]])
    """
    matrix = _as_features(features, "features")
    if matrix.shape[0] < 2:
        raise ValueError(
            f"features has {matrix.shape[0]} rows; the sample covariance needs at least 2 feature vectors"
        )
    mu = matrix.mean(axis=0)
    sigma = np.atleast_2d(np.cov(matrix, rowvar=False))
    return mu, sigma


def fid_from_features(real: Any, fake: Any) -> float:
    """Compute the Frechet distance between Gaussians fitted to two feature sets.

    Args:
        real: Features of real images, shape ``(N_real, D)``, ``N_real >= 2``.
        fake: Features of synthetic images, shape ``(N_fake, D)``, ``N_fake >= 2``.

    Returns:
        The squared Frechet distance, as :func:`frechet_distance`. It is
        biased upwards for small sets, so compare values only at equal set sizes.

    Raises:
        ValueError: If the feature dimensions differ or a set is invalid for
            :func:`feature_statistics`.

    Example:
        >>> fid_from_features([[0.0], [2.0]], [[1.0], [3.0]])
        1.0
    """
    real_features = _as_features(real, "real")
    fake_features = _as_features(fake, "fake")
    _check_same_dimension(real_features, fake_features)
    mu1, sigma1 = feature_statistics(real_features)
    mu2, sigma2 = feature_statistics(fake_features)
    return frechet_distance(mu1, sigma1, mu2, sigma2)


def _polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int, gamma: float, coef0: float) -> np.ndarray:
    return (gamma * (x @ y.T) + coef0) ** degree


def _unbiased_mmd2(x: np.ndarray, y: np.ndarray, degree: int, gamma: float, coef0: float) -> float:
    """Return the unbiased MMD^2 estimate: within-set means exclude the diagonal, the cross term uses all pairs."""
    m = x.shape[0]
    k_xx = _polynomial_kernel(x, x, degree, gamma, coef0)
    k_yy = _polynomial_kernel(y, y, degree, gamma, coef0)
    k_xy = _polynomial_kernel(x, y, degree, gamma, coef0)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def kernel_inception_distance(
    real: Any,
    fake: Any,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    coef0: float = 1,
    gamma: float | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Compute the kernel Inception distance (KID) as the mean unbiased MMD^2 over random subsets.

    For each of ``subsets`` rounds, ``subset_size`` rows are drawn without
    replacement from ``real`` and then from ``fake`` with one
    ``np.random.default_rng(seed)``, and the unbiased MMD^2 with the kernel
    ``k(x, y) = (gamma * x.y + coef0) ** degree`` is computed (Binkowski et
    al., 2018). Unlike FID, the estimate is unbiased, so it can be compared
    across set sizes, and it can be slightly negative when the sets match.
    When ``subset_size`` is larger than either set, it is reduced to the
    smaller set size with a ``UserWarning``. Every round then uses all rows
    of the smaller set, in a new order.

    Args:
        real: Features of real images, shape ``(N_real, D)``.
        fake: Features of synthetic images, shape ``(N_fake, D)``.
        subsets: Number of random subsets, >= 1.
        subset_size: Rows per subset and set, >= 2.
        degree: Polynomial degree, >= 1.
        coef0: Constant added inside the kernel.
        gamma: Scale of the dot product. ``None`` means ``1 / D``.
        seed: Seed of the generator that draws the subsets.

    Returns:
        ``{"kid_mean": float, "kid_std": float}``: the mean and the population
        standard deviation (ddof=0) of the per-subset MMD^2 values, in squared
        kernel units.

    Raises:
        ValueError: If the feature dimensions differ, a set has fewer than 2
            rows, or an option is out of range (the message names the option).

    Example:
        >>> rng = np.random.default_rng(1)
        >>> result = kernel_inception_distance(rng.normal(size=(50, 8)), rng.normal(size=(60, 8)), subsets=10, subset_size=40)
        >>> sorted(result)
        ['kid_mean', 'kid_std']
    """
    real_features = _as_features(real, "real")
    fake_features = _as_features(fake, "fake")
    _check_same_dimension(real_features, fake_features)
    if int(subsets) != subsets or subsets < 1:
        raise ValueError(f"subsets must be a positive integer, got {subsets!r}")
    if int(subset_size) != subset_size or subset_size < 2:
        raise ValueError(f"subset_size must be an integer >= 2 for the unbiased estimate, got {subset_size!r}")
    if int(degree) != degree or degree < 1:
        raise ValueError(f"degree must be a positive integer, got {degree!r}")
    n_real, n_fake = real_features.shape[0], fake_features.shape[0]
    if min(n_real, n_fake) < 2:
        raise ValueError(
            f"real has {n_real} rows and fake has {n_fake}; KID needs at least 2 feature vectors in each set"
        )
    if subset_size > min(n_real, n_fake):
        warnings.warn(
            f"subset_size={subset_size} is larger than the smaller set (real {n_real}, fake {n_fake}); "
            f"using subset_size={min(n_real, n_fake)}. Pass a smaller subset_size to silence this warning",
            UserWarning,
            stacklevel=2,
        )
        subset_size = min(n_real, n_fake)
    subset_size = int(subset_size)
    kernel_gamma = 1.0 / real_features.shape[1] if gamma is None else float(gamma)

    rng = np.random.default_rng(seed)
    estimates = np.empty(int(subsets))
    for index in range(int(subsets)):
        real_subset = real_features[rng.choice(n_real, subset_size, replace=False)]
        fake_subset = fake_features[rng.choice(n_fake, subset_size, replace=False)]
        estimates[index] = _unbiased_mmd2(real_subset, fake_subset, int(degree), kernel_gamma, float(coef0))
    return {"kid_mean": float(estimates.mean()), "kid_std": float(estimates.std())}


def _squared_distance_blocks(queries: np.ndarray, references: np.ndarray):
    """Yield ``(start, block)`` with squared Euclidean distances from a block of query rows to all references."""
    reference_norms = np.einsum("ij,ij->i", references, references)
    block_rows = max(1, _DISTANCE_BLOCK_ENTRIES // max(1, references.shape[0]))
    for start in range(0, queries.shape[0], block_rows):
        block = queries[start : start + block_rows]
        block_norms = np.einsum("ij,ij->i", block, block)
        squared = block_norms[:, None] + reference_norms[None, :] - 2.0 * (block @ references.T)
        # Cancellation can leave tiny negative values for (near-)identical points.
        yield start, np.maximum(squared, 0.0)


def _knn_squared_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Return each row's squared distance to its k-th nearest other row of the same set."""
    radii = np.empty(features.shape[0])
    for start, block in _squared_distance_blocks(features, features):
        rows = np.arange(block.shape[0])
        # A point is not its own neighbour, but an exact duplicate at distance 0 is.
        block[rows, start + rows] = np.inf
        radii[start : start + block.shape[0]] = np.partition(block, k - 1, axis=1)[:, k - 1]
    return radii


def _fraction_inside_manifold(queries: np.ndarray, references: np.ndarray, squared_radii: np.ndarray) -> float:
    inside = np.zeros(queries.shape[0], dtype=bool)
    for start, block in _squared_distance_blocks(queries, references):
        inside[start : start + block.shape[0]] = np.any(block <= squared_radii[None, :], axis=1)
    return float(inside.mean())


def precision_recall_knn(real: Any, fake: Any, k: int = 3) -> dict[str, float]:
    """Compute improved precision and recall (Kynkaanniemi et al., 2019) with k-NN manifolds in feature space.

    Each set's manifold is the union of Euclidean balls around its points,
    each ball's radius being the distance from the point to its k-th nearest
    other point of the same set. Precision is the fraction of fake points
    inside the real manifold (distance <= radius for at least one real
    point), so low precision means implausible samples. Recall is the
    fraction of real points inside the fake manifold, so low recall means
    the generator misses parts of the real distribution.

    Args:
        real: Features of real images, shape ``(N_real, D)``.
        fake: Features of synthetic images, shape ``(N_fake, D)``.
        k: Neighbour rank for the radii, ``1 <= k < min(N_real, N_fake)``;
            the paper uses 3.

    Returns:
        ``{"precision": float, "recall": float}``, each in [0, 1].

    Raises:
        ValueError: If the feature dimensions differ, a value is not finite,
            or ``k`` is out of range for the set sizes.

    Example:
        >>> points = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
        >>> precision_recall_knn(points, points, k=1)
        {'precision': 1.0, 'recall': 1.0}
    """
    real_features = _as_features(real, "real")
    fake_features = _as_features(fake, "fake")
    _check_same_dimension(real_features, fake_features)
    smaller = min(real_features.shape[0], fake_features.shape[0])
    if isinstance(k, bool) or int(k) != k or not 1 <= k < smaller:
        raise ValueError(
            f"k must be an integer with 1 <= k < {smaller} (the smaller set size, because a point is not "
            f"its own neighbour), got {k!r}; pass a smaller k or more samples"
        )
    k = int(k)
    real_radii = _knn_squared_radii(real_features, k)
    fake_radii = _knn_squared_radii(fake_features, k)
    return {
        "precision": _fraction_inside_manifold(fake_features, real_features, real_radii),
        "recall": _fraction_inside_manifold(real_features, fake_features, fake_radii),
    }
