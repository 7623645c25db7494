"""Venue and token facts the importers map sources with: one definition each, with its source.

These are facts about DeFi venues, not about the graph format (which lives in
:mod:`exposure.schema`). Each table says where its figures come from and when they were
read; the sources are the public pages quoted in ``docs/domain.md``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

__all__ = ["BASE_ASSETS", "morpho_liquidation_incentive", "MORPHO_LIF_SOURCE", "AAVE_CLOSE_FACTOR",
           "AAVE_CLOSE_FACTOR_SOURCE", "AAVE_POOLS", "ORACLES_BY_SYMBOL", "DEFILLAMA_DOUBLECOUNTED_CATEGORIES",
           "DEFILLAMA_SEPARATE_SECTIONS"]

#: Symbols imported as base assets (node kind ``asset``: no member of a graph issues them).
#: Wrapped ETH and BTC are counted as the base asset they wrap one to one.
BASE_ASSETS = frozenset({"ETH", "WETH", "BTC", "WBTC", "USDC", "USDT"})

#: Morpho Blue's liquidation incentive factor (``ConstantsLib.sol``: ``MAX_LIQUIDATION_INCENTIVE_FACTOR``
#: 1.15, ``LIQUIDATION_CURSOR`` 0.3).
MORPHO_LIF_SOURCE = "https://github.com/morpho-org/morpho-blue/blob/main/src/libraries/ConstantsLib.sol"


def morpho_liquidation_incentive(lltv: float) -> float:
    """Morpho Blue's liquidation incentive factor at a market's LLTV.

    .. math:: \\mathrm{LIF} = \\min\\left(1.15,\\ \\frac{1}{1 - 0.3\\,(1 - \\mathrm{LLTV})}\\right)

    The liquidator receives ``LIF`` times the debt it repays in collateral, so the liquidation
    bonus of the graph format is ``LIF - 1``.

    >>> round(morpho_liquidation_incentive(0.86), 6)     # 1 / (1 - 0.3 * 0.14) = 1 / 0.958
    1.043841
    >>> morpho_liquidation_incentive(0.0)                # 1 / 0.7 = 1.43 is capped
    1.15
    """
    return min(1.15, 1.0 / (1.0 - 0.3 * (1.0 - float(lltv))))


#: Aave v3.3: 50% of a position may be liquidated at once (100% below HF 0.95 or for dust).
AAVE_CLOSE_FACTOR = 0.5
AAVE_CLOSE_FACTOR_SOURCE = "https://github.com/aave-dao/aave-v3-origin/blob/main/docs/3.3/Aave-v3.3-features.md"

#: Aave v3 markets known by their PoolAddressesProvider (the subgraph's ``reserve.pool.id``):
#: node id, label, and the first-loss capital in front of suppliers, in token units (Umbrella's
#: DAO deficit offset, AIP 467, executed 7 Apr 2026, plus the Umbrella stakes of 10 Dec 2025).
AAVE_POOLS: Mapping[str, dict] = MappingProxyType({
    "0x2f39d218133afab8f2b819b1066c7e434ad94e9e": {
        "id": "aave_core", "label": "Aave v3 Core (Ethereum)",
        "first_loss": {"USDC": 1.3e6 + 93.33e6, "USDT": 1.6e6 + 120.84e6, "WETH": 77 + 35.16e3,
                       "GHO": 115e3 + 14.43e6},
        "first_loss_source": ("aave-dao/aave-governance-cache cache/ui/mainnet/proposals/proposal_467.json; "
                              "https://governance.aave.com/t/llamarisk-insights-umbrella-coverage-principles-"
                              "and-slashing-logic/23527"),
        "first_loss_as_of": "2026-04-07",
    },
})

#: Oracle type of a collateral token by venue where the sources name it (docs/domain.md §3.5):
#: Aave prices LSTs, LRTs and sUSDe with CAPO exchange-rate oracles and Pendle PTs with a
#: linear-discount oracle; Morpho's wstETH/WETH and PT markets likewise. Other tokens keep the
#: format's default (``market``) and their edges say ``oracle_assumed``.
ORACLES_BY_SYMBOL: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "aave": MappingProxyType({"wstETH": "exchange_rate", "rsETH": "exchange_rate", "wrsETH": "exchange_rate",
                              "ETHx": "exchange_rate", "weETH": "exchange_rate", "sUSDe": "exchange_rate",
                              "PT-": "linear_discount"}),
    "morpho": MappingProxyType({"wstETH": "exchange_rate", "PT-": "linear_discount"}),
})

#: DeFiLlama counts a protocol as double counted when its adapter says ``doublecounted: true`` or
#: its category is one of these (DefiLlama server, the categories hidden by default).
DEFILLAMA_DOUBLECOUNTED_CATEGORIES = frozenset({"Yield Aggregator", "Yield", "Liquidity manager",
                                                "Onchain Capital Allocator", "Treasury Manager"})

#: ``chainTvls`` sections DeFiLlama counts apart from TVL (aggregate key and ``<Chain>-<section>``).
DEFILLAMA_SEPARATE_SECTIONS = ("staking", "pool2", "offers", "treasury", "vesting", "borrowed")


def oracle_of(venue: str, symbol: str) -> str | None:
    """The oracle type of collateral ``symbol`` at ``venue`` when the sources give it, else None."""
    table = ORACLES_BY_SYMBOL.get(venue, {})
    if symbol in table:
        return table[symbol]
    for prefix, oracle in table.items():
        if prefix.endswith("-") and symbol.startswith(prefix):
            return oracle
    return None
