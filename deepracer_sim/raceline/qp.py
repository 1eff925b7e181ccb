"""The line's optimisation inside the corridor: minimum curvature blended with the shortest path.

For a weight ``lam`` (1/m^2), :class:`Problem` minimises ``sum kappa_i^2 h + lam * sum |r_i+1 -
r_i|^2 / h`` over the offsets ``alpha`` within the corridor's bounds (``alpha_0 = 0``: an
evaluation lap starts at rest on the centre line at waypoint 0), with ``kappa_i`` the points'
exact discrete (Menger) curvature: ``lam = 0`` is the minimum-curvature line, ``lam -> inf`` the
shortest path (Braghin et al. 2008, "Race driver model", Computers & Structures 86; the QP of
Heilmeier et al. 2019, "Minimum curvature trajectory planning", Vehicle System Dynamics 58).

The curvature is minimised by Gauss-Newton with Levenberg damping; each step is a
box-constrained QP solved by Bertsekas's projected Newton method on scipy's sparse LU
(:func:`box_qp`; scipy's ``lsq_linear`` TRF when it stalls). The linear "second differences"
form of the minimum-curvature QP measures the points' acceleration along the reference, not the
curvature, and pulls the line to the inside of every curve.
"""

from __future__ import annotations

import numpy as np


def _difference_rows(m: int, order: int, closed: bool):
    """Row, column and coefficient lists of the ``order``-th difference operator."""
    coef = {1: (-1.0, 1.0), 2: (1.0, -2.0, 1.0), 3: (-1.0, 3.0, -3.0, 1.0)}[order]
    rows, cols, vals = [], [], []
    count = m if closed else m - order
    for r in range(count):
        for k, c in enumerate(coef):
            j = r + k - (order // 2 if closed else 0)
            rows.append(r)
            cols.append(j % m)
            vals.append(c)
    return np.array(rows), np.array(cols), np.array(vals), count


def box_qp(h, f: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_iter: int = 200,
           tol: float = 1e-8) -> np.ndarray | None:
    """Minimise ``x^T h x / 2 - f^T x`` subject to ``lo <= x <= hi`` for a sparse symmetric
    positive definite ``h``: Bertsekas's projected Newton method (SIAM J. Control Optim. 20(2),
    1982): a Newton step on the variables not held at a bound, a scaled gradient step on the
    others, an Armijo search along the projection arc; each step one sparse solve (scipy's
    SuperLU). Returns None if it has not converged within ``max_iter`` steps.
    """
    from scipy.sparse.linalg import spsolve

    h = h.tocsr()
    diag = np.maximum(h.diagonal(), 1e-300)
    x = np.clip(np.zeros(len(f)), lo, hi)

    def q(z: np.ndarray) -> float:
        return 0.5 * float(z @ (h @ z)) - float(f @ z)

    qx = q(x)
    scale = max(float(np.max(np.abs(f))), float(np.max(diag)) * 1e-12, 1e-300)
    for _ in range(max_iter):
        g = h @ x - f
        w = np.clip(x - g / diag, lo, hi) - x  # scaled projected gradient: 0 at the optimum
        if float(np.max(np.abs(w * diag))) <= tol * scale:
            return x
        eps = min(1e-4, float(np.max(np.abs(w))))
        bound = ((x <= lo + eps) & (g > 0.0)) | ((x >= hi - eps) & (g < 0.0))
        d = -g / diag
        free = np.flatnonzero(~bound)
        if len(free):
            hf = h[free][:, free]
            d[free] = spsolve(hf.tocsc(), -g[free]) if len(free) > 1 else -g[free] / diag[free]
        step = 1.0
        while True:
            xn = np.clip(x + step * d, lo, hi)
            qn = q(xn)
            if qn <= qx + 1e-4 * float(g @ (xn - x)) or step < 1e-12:
                break
            step *= 0.5
        if qn >= qx - 1e-14 * abs(qx):  # no descent left: at the optimum within rounding
            return xn if qn < qx else x
        x, qx = xn, qn
    return None


def _menger(r: np.ndarray, closed: bool) -> np.ndarray:
    """Signed curvature (1/m, + = left turn) of the circle through each point and its two
    neighbours (a loop: every point; an open line: the M - 2 inner points)."""
    if closed:
        a, b, c = np.roll(r, 1, axis=0), r, np.roll(r, -1, axis=0)
    else:
        a, b, c = r[:-2], r[1:-1], r[2:]
    u = b - a
    w = c - b
    cross = u[:, 0] * w[:, 1] - u[:, 1] * w[:, 0]
    den = np.hypot(*u.T) * np.hypot(*w.T) * np.hypot(*(c - a).T)
    return 2.0 * cross / np.maximum(den, 1e-12)


class Problem:
    """The line's optimisation on one reference: points ``p + alpha n`` with ``alpha`` in
    [lb, ub] and, when ``pinned``, ``alpha_0 = 0`` (an evaluation lap starts on the centre line;
    a flying lap's line is free there); objective ``sum kappa_i^2 h + lam sum |r_i+1 - r_i|^2 /
    h`` with ``kappa_i`` the points' Menger curvature (Gauss-Newton with Levenberg damping, each
    step a box-constrained QP)."""

    def __init__(self, p: np.ndarray, n: np.ndarray, lb: np.ndarray, ub: np.ndarray,
                 closed: bool, pinned: bool = True) -> None:
        from scipy.sparse import coo_matrix

        self.p, self.n, self.lb, self.ub, self.closed = p, n, lb, ub, closed
        self.pinned = pinned
        self.m = len(p)
        self.h = float(np.mean(np.hypot(*np.diff(p, axis=0).T)))
        r, c, v, count = _difference_rows(self.m, 1, closed)
        d1 = coo_matrix((v, (r, c)), shape=(count, self.m)).tocsr()
        # segment vectors D1 (p + alpha n) = D1 p + S alpha, one block per axis
        self.seg_p = np.column_stack([d1 @ p[:, 0], d1 @ p[:, 1]])
        self.seg_s = [d1.multiply(n[:, k][None, :]).tocsr() for k in range(2)]
        self.seg_h = (self.seg_s[0].T @ self.seg_s[0] + self.seg_s[1].T @ self.seg_s[1]).tocsc()

    def points(self, alpha: np.ndarray) -> np.ndarray:
        return self.p + alpha[:, None] * self.n

    def kappa(self, alpha: np.ndarray) -> np.ndarray:
        return _menger(self.points(alpha), self.closed)

    def cost(self, alpha: np.ndarray, lam: float) -> float:
        seg = self.seg_p + np.column_stack([self.seg_s[0] @ alpha, self.seg_s[1] @ alpha])
        return float(np.sum(self.kappa(alpha) ** 2) * self.h + lam * np.sum(seg**2) / self.h)

    def jacobian(self, alpha: np.ndarray):
        """d kappa / d alpha (sparse, 3 entries a row) by differences over 3 colour classes."""
        from scipy.sparse import coo_matrix

        k0 = self.kappa(alpha)
        eps = 1e-6
        rows, cols, vals = [], [], []
        m = self.m
        off = 0 if self.closed else 1
        for colour in range(3):
            pert = np.zeros(m)
            pert[colour::3] = eps
            dk = (self.kappa(alpha + pert) - k0) / eps
            for shift in (-1, 0, 1):  # kappa row i depends on alpha_{i-1}, alpha_i, alpha_{i+1}
                i = np.arange(len(k0))
                j = i + off + shift
                if self.closed:
                    j %= m
                ok = (j >= 0) & (j < m) & (j % 3 == colour)
                rows.append(i[ok])
                cols.append(j[ok])
                vals.append(dk[ok])
        return k0, coo_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                      np.concatenate(cols))),
                              shape=(len(k0), m)).tocsc()

    def solve(self, alpha: np.ndarray, lam: float, steps: int = 30,
              tol: float = 1e-7) -> np.ndarray:
        """Gauss-Newton from ``alpha`` (clipped to the bounds)."""
        from scipy.sparse import identity

        alpha = np.clip(alpha, self.lb, self.ub)
        first = 1 if self.pinned else 0  # alpha_0 = 0 when pinned
        if self.pinned:
            alpha[0] = 0.0
        cost = self.cost(alpha, lam)
        mu = 1e-3 * self.h
        eye = identity(self.m - first, format="csc")
        for _ in range(steps):
            k0, jac = self.jacobian(alpha)
            seg = self.seg_p + np.column_stack([self.seg_s[0] @ alpha, self.seg_s[1] @ alpha])
            grad = self.h * (jac.T @ k0) + (lam / self.h) * (self.seg_s[0].T @ seg[:, 0]
                                                             + self.seg_s[1].T @ seg[:, 1])
            hess = (self.h * (jac.T @ jac) + (lam / self.h) * self.seg_h).tocsc()
            hess = hess[first:, :][:, first:]
            improved = False
            while mu < 1e6:
                lo = self.lb[first:] - alpha[first:]
                hi = np.maximum(self.ub[first:] - alpha[first:], lo + 1e-12)
                step = box_qp((hess + mu * eye).tocsc(), -grad[first:], lo, hi)
                if step is None:  # projected Newton stalled: scipy's bounded solver
                    from scipy.optimize import lsq_linear

                    chol = np.linalg.cholesky((hess + mu * eye).toarray())
                    step = lsq_linear(chol.T, -np.linalg.solve(chol, grad[first:]),
                                      bounds=(lo, hi), method="trf", lsq_solver="exact",
                                      tol=1e-12).x
                trial = alpha.copy()
                trial[first:] = np.clip(alpha[first:] + step, self.lb[first:],
                                        self.ub[first:])
                new = self.cost(trial, lam)
                if new <= cost:
                    improved = True
                    break
                mu *= 10.0
            if not improved:
                break
            mu = max(mu / 10.0, 1e-9)
            done = cost - new <= tol * max(cost, 1e-12)
            alpha, cost = trial, new
            if done:
                break
        return alpha
