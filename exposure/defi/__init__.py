r"""Cross-collateral mechanics: tokens priced by their issuer, secured positions, oracles, fire sales.

:func:`solve_system` finds the greatest state of a version-2 network in which
clearing payments, token prices and liquidations are consistent with each
other, and records the round in which each thing happened so the cascade can be
replayed wave by wave. On a network with no holdings and no secured positions
it is exactly the clearing engine (:mod:`exposure.clearing`). :func:`solve_block` solves the
same model for a whole block of scenarios (Monte Carlo draws: arrays of draws × nodes) and
returns a :class:`BlockOutcome`, row ``j`` being what :func:`solve_system` gives for draw ``j``.

The model
---------
All amounts are USD at the graph's reference prices. A *price state* is a
vector of price ratios (current / reference price, 1 at the reference date),
one per node.

Redemption value
    A token ``t`` whose ``issuer`` is ``k`` is worth, per unit, what the issuer's
    clearing pays: ``r_t = R_k · m_den(t) / (1 + forged_t)`` with ``R_k = p_k / p̄_k``
    the issuer's recovery rate (1 when ``p̄_k = 0``), ``m_den(t)`` the market price
    ratio of the token's ``denomination`` asset (what it is redeemable in: ETH for a
    liquid staking token; 1 without one) and ``forged_t`` the unbacked supply as a
    fraction of the real supply. A node without issuer (a base asset) has
    ``r = (1 + change) · m_den / (1 + forged)``: its fundamental price, moved by a
    ``price`` shock.

Denominated claims
    A claim edge with a ``denomination`` asset ``a`` has face value ``amount · m_a``;
    the claim from an issuer to its token takes the token's denomination unless the
    edge names its own. Each round ``L``, ``p̄ = L·1 + x`` and ``Π`` are recomputed
    from the current prices by rescaling the denominated entries of ``L.data``
    (sparse, vectorised). So an issuer holding ETH and owing its token in ETH, or a
    pool lending ETH and owing its suppliers in ETH, moves with ETH on both sides.

Market price
    ``m = r · (1 + depeg) · (1 − impact(Q))`` where ``depeg`` is a market depeg
    and ``Q`` the cumulative USD (at reference price) of the node sold by
    liquidations; on a token with an issuer a ``price`` shock is a market move
    too: ``m = r · (1 + change) · (1 + depeg) · (1 − impact(Q))``.
    Prices only fall: every round ``m ← min(m_prev, m_new)`` (and likewise ``r``).

Fire sales
    ``impact(Q) = min(1, s · (Q / (D · f))^α)`` with ``D`` the node's ``depth``,
    ``s`` its ``depth_slippage``, ``α`` its ``impact_exponent`` (1 when absent)
    and ``f`` the scenario's ``depth_factor`` (1 when absent). A node without
    ``depth`` or ``depth_slippage`` has no price impact.

Oracle price ratio of a position's collateral ``c`` in units of its debt ``d``
    ``market``: ``m_c / m_d``; ``exchange_rate``: ``r_c / m_d`` (follows the
    redemption value only, so a market depeg does not move it);
    ``hardcoded`` and ``linear_discount``: 1 (never moves).

Secured positions (non-recourse)
    Collateral ``C'`` and debt ``D'`` remaining (USD at reference prices), health
    ``H = C'·o·LT / D'``. In each round every position with ``H < 1``, a moving
    oracle (``market``, ``exchange_rate``) and a liquidation that pays the
    liquidator at market prices (``(1 + bonus)·m_c ≥ o·m_d``) is liquidated
    once: repaid
    ``R = min(close_factor · D', C'·o / (1 + bonus))``, seized
    ``S = R·(1 + bonus) / o``, sold into the collateral token's market
    (``Q_c += S``), ``C' −= S``, ``D' −= R``. Values at market prices:

    * lender: ``Σ repaid · m_d + min(D'·m_d, C'·m_c)``;
    * borrower: ``max(0, C'·m_c − D'·m_d)``;
    * **bad debt** (the lender's): ``max(0, D'·m_d − C'·m_c)``.

    Both values are added to the external assets of lender and borrower in the
    clearing. Collateral posted in a position is not also a holding of the
    borrower.

Holdings and claims
    A holding adds ``amount · m_t`` to the holder's external assets (tokens and
    base assets alike); a claim on a base asset ``a`` is revalued at ``m_a``.
    Claim edges between other nodes stay in ``L``, cleared by the clearing
    engine (Eisenberg–Noe, or Rogers–Veraart with ``alpha``, ``beta``).

Asset loss
    ``asset_loss`` (fraction ``f``) and ``asset_loss_amount`` (USD ``a``) cut what
    a node owns outright (declared external assets, base-asset claims and
    holdings, at current prices): ``owned ← max(0, (1 − f)·owned − a)``. The value
    of the node's secured positions is not cut (it sits at other protocols).

Token nodes are pass-through
    An issuer's obligation to its token is the claim edge issuer → token. The
    token node's own equity is the value of its holders, already counted at the
    holders through the price, so it is excluded from losses.

Joint fixed point
    From the shocked state with every issuer solvent (``R = 1``), every round:
    (1) one liquidation step on the positions at the current oracle prices;
    (2) revalue external assets at the current market prices;
    (3) clear, warm-started from the previous payments when they are provably an
    upper bound (the obligations did not move and no external asset went up: the
    clearing map is then pointwise lower), otherwise from the new ``p̄`` (when
    denominated obligations move, a creditor's share ``Π_ij`` can grow, so the
    previous payments bound nothing); (4) update ``r`` from the recovery rates and
    the denomination prices, and ``m`` from ``r`` and the sold volumes. Stop when no price ratio, no payment
    (relative to the obligation) and no liquidated amount (relative to the
    position's debt) changes by more than ``tol`` in a round, or after
    ``max_iter`` rounds.

Who bears a loss
    Each round's clearing draws first-loss buffers before any creditor and tells debt
    defaults from impaired shares (:mod:`exposure.clearing._loss`): a node whose
    ``liability_type`` is ``shares`` passes its shortfall on pro rata and is never in
    default; a debt node defaults only past its ``first_loss``, whose provider loses what is
    drawn.

Losses
    ``equity = max(0, e + Πᵀp − p̄)`` after clearing (buffers excluded); ``equity_before`` is
    the same model solved with no shock and ``loss = equity_before − equity_after``.
    ``total_loss = Σ_{non-token nodes} loss + Δ external_creditor_loss + Δ outside buffers drawn``
    where ``external_creditor_loss = Σ_i x_i (1 − p_i / p̄_i)`` and the last term is the
    first-loss capital drawn from providers outside the network (the increases over the
    unshocked state enter the total).

Conservation
    At a clearing fixed point every dollar of external value is somebody's:
    ``Σ e = Σ equity + Σ p_i·x_i/p̄_i + Σ default costs`` (default costs
    ``(1 − α)e_i + (1 − β)(Πᵀp)_i`` of defaulted nodes, zero under
    Eisenberg–Noe). ``conservation_residual`` is the larger of the two relative
    gaps (shocked state and unshocked state), divided by ``max(1, Σ e)``.

References
----------
.. [1] L. Eisenberg and T. H. Noe, "Systemic risk in financial systems",
   Management Science 47(2), 236–249, 2001.
.. [2] L. C. G. Rogers and L. A. M. Veraart, "Failure and rescue in an
   interbank network", Management Science 59(4), 882–898, 2013.
.. [3] R. Cifuentes, G. Ferrucci and H. S. Shin, "Liquidity risk and
   contagion", Journal of the European Economic Association 3(2–3), 556–566,
   2005 (price impact of fire sales in a clearing model).
"""

from ..shocks import MarketShock
from ._model import MechanicsModel, PositionState, price_impact
from ._system import SystemResult, clear, solve_system
from ._block import BlockOutcome, solve_block

__all__ = ["MarketShock", "SystemResult", "solve_system", "clear", "MechanicsModel", "PositionState",
           "price_impact", "BlockOutcome", "solve_block"]
