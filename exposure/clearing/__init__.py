"""Clearing of a network of claims: Eisenberg–Noe and Rogers–Veraart, with default waves.

Models
------
With total obligations ``p̄ = L·1 + x`` and relative liabilities ``Π[i, j] = L[i, j] / p̄[i]``
(0 when ``p̄[i] = 0``), a clearing vector ``p`` is a fixed point of

    Φ(p)_i = p̄_i                         if e_i + (Πᵀp)_i ≥ p̄_i   (solvent: pays in full)
    Φ(p)_i = α e_i + β (Πᵀp)_i            otherwise                 (in default)

* **Eisenberg–Noe** [1]_ is ``α = β = 1``: ``p = min(p̄, max(0, e + Πᵀp))``. What a defaulting
  node holds is shared pro rata among all its creditors, external ones included.
* **Rogers–Veraart** [2]_: a defaulting node realises only ``α`` of its external assets and
  ``β`` of its claims on others. The solvency test uses ``e + Πᵀp`` before the default costs.

Both return the *greatest* clearing vector. ``Φ`` is monotone, so it is the limit of Picard
iteration from ``p̄``, and the fictitious default algorithm of [1]_
("Greatest Clearing Vector Algorithm", [2]_ Definition 3.6) reaches it in at most ``n``
rounds: start with nobody in default; each round, solve the
linear system in which the current default set pays ``α e + β Πᵀp`` and the others pay ``p̄``;
add every node that then cannot pay in full; stop when no node is added.

Default waves: ``default_round`` is the round of that algorithm in which a node joins the
default set (1 = fundamental default: it cannot pay in full even when everyone else does),
0 for a node that does not default. A node is in default when its assets fall short of its
obligations beyond the relative tolerance ``tol``: a node with exactly zero equity is solvent,
a node that owes nothing never defaults.

Reported per node: ``obligations`` p̄, ``payments`` p, ``recovery = p / p̄`` (1 where p̄ = 0),
``assets = e + Πᵀp`` (before default costs), ``equity = max(0, assets − p̄)``.

Who bears a loss (:mod:`exposure.clearing._loss`): a node whose ``liability_type`` is ``shares``
is *impaired*, never in default, when it falls short; a node's ``first_loss`` capital is drawn
before any creditor loses (``p_i = min(p̄_i, e_i + b_i + (Πᵀp)_i)``) and its provider loses what is
drawn. ``impaired`` and ``buffer_used`` are reported per node.

References
----------
.. [1] L. Eisenberg and T. H. Noe, "Systemic risk in financial systems", Management Science
   47(2):236–249, 2001. doi:10.1287/mnsc.47.2.236.9835
.. [2] L. C. G. Rogers and L. A. M. Veraart, "Failure and rescue in an interbank network",
   Management Science 59(4):882–898, 2013. doi:10.1287/mnsc.1120.1569
.. [3] E. Liu and J. Staum, "Sensitivity analysis of the Eisenberg–Noe model of contagion",
   Operations Research Letters 38(5):489–491, 2010. doi:10.1016/j.orl.2010.07.007
"""

from ._loss import LossBearing, clear_bearing
from ._models import clear_claims, eisenberg_noe, rogers_veraart
from ._result import FRAME_COLUMNS, ClearingResult, result_from_vectors
from ._sensitivity import ClearingSensitivities, loss_amplification, sensitivities
from ._solvers import METHODS, ClearingVectors, clear_vectors

__all__ = ["ClearingResult", "ClearingVectors", "ClearingSensitivities", "clear_vectors", "clear_claims",
           "eisenberg_noe", "rogers_veraart", "sensitivities", "loss_amplification", "result_from_vectors",
           "METHODS", "FRAME_COLUMNS", "LossBearing", "clear_bearing"]
