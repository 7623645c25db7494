"""Venue and token facts the importers map sources with: one definition each, with its source.

These are facts about DeFi venues, not about the graph format (which lives in
:mod:`exposure.schema`). Each table says where its figures come from and when they were
read; the sources are the public pages quoted in ``docs/domain.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

__all__ = ["VENUE_PARAMETERS", "VenueParameters", "VENUE_SOURCES", "FULL_LIQUIDATION", "BASE_ASSETS", "morpho_liquidation_incentive", "MORPHO_LIF_SOURCE", "AAVE_CLOSE_FACTOR",
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


# ------------------------------------------------------------------ venue parameter tables
#: Where the venue parameters below come from (the pages docs/domain.md §3 quotes).
VENUE_SOURCES: Mapping[str, str] = MappingProxyType({
    "aave_wsteth": "https://dash.onaave.com/reserve/1-0x7f39c581f595b53c5cb19bd0b3f8da6c935e2ca0-aave-v3",
    "aave_usds_core": "https://dash.onaave.com/reserve/1-0xdc035d45d973e3ec169d2276ddab16f1e407384f-aave-v3",
    "aave_linea": "https://governance.aave.com/t/direct-to-aip-onboard-rseth-to-aave-v3-linea-instance/22172",
    "aave_prime": "https://governance.aave.com/t/arfc-prime-core-instance-wsteth-reserve-update/19973",
    "morpho_positions": "https://docs.morpho.org/morpho/concepts/positions",
    "morpho_lif": "https://github.com/morpho-org/morpho-blue/blob/main/src/libraries/ConstantsLib.sol",
    "morpho_health": "https://docs.morpho.org/build/midnight/concepts/collateral-health-liquidations/",
    "euler_pt": "https://forum.euler.finance/t/enhance-euler-yields-pendle-pt-offering-with-an-ethena-looping-cluster/1380",
    "usd0pp_lltv": "https://binance.com/en/square/post/18745183786505",
    "fluid": "https://gov.instadapp.io/t/onboarding-weeth-wsteth-vault-to-fluid/698",
    "hardcoded": "https://michigan-post.com/stream-finance-meltdown-winners-and-losers-in-defi-risk-curator-reckoning",
    "ezeth_event": "https://cryptoslate.com/renzos-ezeth-token-depeg-triggers-liquidations-across-defi-platforms",
})

#: Venues with no close factor: a position can be liquidated in full (Morpho Blue, Euler, Fluid's
#: liquidation max limit, Compound v3 absorption, Gearbox credit accounts).
FULL_LIQUIDATION = 1.0


@dataclass(frozen=True)
class VenueParameters:
    """Liquidation parameters of a venue for one kind of collateral, with where they come from.

    ``ltv`` the loan-to-value a borrower may reach, ``lt`` the liquidation threshold, ``bonus`` the
    liquidation bonus (without the principal), ``close_factor`` the share of a position one
    liquidation may repay, ``oracle`` the oracle type (:data:`exposure.schema.ORACLES`); ``estimate``
    marks parameters assumed where the sources give none, and ``note`` says which.
    """

    ltv: float
    lt: float
    bonus: float
    close_factor: float
    oracle: str
    source: str
    note: str
    estimate: bool = False


def _morpho_bonus(lltv: float) -> float:
    """The liquidation bonus of a Morpho-style venue at ``lltv``: LIF - 1, to 3 decimals."""
    return round(morpho_liquidation_incentive(lltv) - 1.0, 3)


#: Venue parameters by name: the liquidation parameters of the venues in the bundled DeFi graph
#: (``graphs/build.py`` builds its secured positions with them).
VENUE_PARAMETERS: Mapping[str, VenueParameters] = MappingProxyType({
    "aave_eth_emode": VenueParameters(
        0.93, 0.95, 0.01, AAVE_CLOSE_FACTOR, "exchange_rate", VENUE_SOURCES["aave_wsteth"],
        "Aave v3 Core e-mode 'ETH correlated' LTV 93% / LT 95% / bonus 1%; CAPO exchange-rate "
        "oracle; close factor 50% (Aave v3.3 default)"),
    "aave_prime_eth_emode": VenueParameters(
        0.93, 0.95, 0.01, AAVE_CLOSE_FACTOR, "exchange_rate", VENUE_SOURCES["aave_wsteth"],
        "Core's 'ETH correlated' e-mode parameters assumed for the Prime instance",
        estimate=True),
    "aave_rseth_lst": VenueParameters(
        0.93, 0.95, 0.01, AAVE_CLOSE_FACTOR, "exchange_rate", VENUE_SOURCES["aave_wsteth"],
        "Aave v3 Core e-mode 'rsETH LST main' (borrow wstETH/ETHx against rsETH) 93% / 95% / 1% "
        "(an earlier snapshot: 92.5% / 94.5%); CAPO rsETH/ETH exchange-rate oracle"),
    "aave_prime_lrt_lst": VenueParameters(
        0.93, 0.95, 0.01, AAVE_CLOSE_FACTOR, "exchange_rate", VENUE_SOURCES["aave_prime"],
        "ezETH borrowing wstETH on Prime at debt/collateral 0.84 needs an LRT/LST e-mode; the "
        "parameters of Core's 'rsETH LST main' e-mode and a CAPO oracle are assumed",
        estimate=True),
    "aave_linea_wrseth": VenueParameters(
        0.70, 0.73, 0.10, AAVE_CLOSE_FACTOR, "exchange_rate", VENUE_SOURCES["aave_linea"],
        "wrsETH on Aave v3 Linea: LTV 70% / LT 73% / bonus 10%; CAPO oracle"),
    "aave_pt_emode": VenueParameters(
        0.91, 0.93, 0.029, AAVE_CLOSE_FACTOR, "linear_discount", VENUE_SOURCES["aave_usds_core"],
        "e-mode PT-USDe Sep-2025: LTV 91% / LT 93% / bonus 2.9%; linear-discount oracle"),
    "aave_usde_emode": VenueParameters(
        0.90, 0.93, 0.02, AAVE_CLOSE_FACTOR, "hardcoded", VENUE_SOURCES["aave_usds_core"],
        "USDe Stablecoin e-mode LTV 90% / LT 93% / bonus 2%; the oracle type is not in the "
        "sources: Aave prices USDe with the USDT/USD feed, so a USDe market depeg does not reach "
        "it (recorded as hardcoded, an assumption to check)", estimate=True),
    "aave_susde_emode": VenueParameters(
        0.90, 0.92, 0.04, AAVE_CLOSE_FACTOR, "exchange_rate", VENUE_SOURCES["aave_usds_core"],
        "sUSDe Stablecoins e-mode LTV 90% / LT 92% / bonus 4%; CAPO exchange-rate oracle"),
    "spark_eth_emode": VenueParameters(
        0.93, 0.95, 0.01, AAVE_CLOSE_FACTOR, "exchange_rate", VENUE_SOURCES["aave_wsteth"],
        "SparkLend is an Aave v3 fork; Aave Core's 'ETH correlated' e-mode parameters and CAPO "
        "oracle are assumed", estimate=True),
    "morpho_wsteth": VenueParameters(
        0.945, 0.945, _morpho_bonus(0.945), FULL_LIQUIDATION, "exchange_rate", VENUE_SOURCES["morpho_positions"],
        "Morpho Blue wstETH/WETH market, LLTV 94.5%; bonus = Morpho LIF at that LLTV; no close "
        "factor (up to 100% liquidated); exchange-rate oracle assumed"),
    "morpho_pt": VenueParameters(
        0.915, 0.915, _morpho_bonus(0.915), FULL_LIQUIDATION, "linear_discount", VENUE_SOURCES["euler_pt"],
        "Morpho Blue Ethena PT markets, LLTV 91.5%; bonus = Morpho LIF; no close factor; "
        "linear-discount PT oracle (LlamaRisk)"),
    "morpho_btc": VenueParameters(
        0.86, 0.86, _morpho_bonus(0.86), FULL_LIQUIDATION, "market", VENUE_SOURCES["morpho_health"],
        "LLTV 86% (a Morpho LLTV used for BTC collateral) assumed for the cbBTC/USDC market behind "
        "Coinbase's loans; bonus = Morpho LIF; market (Chainlink BTC/USD) oracle", estimate=True),
    "morpho_rseth": VenueParameters(
        0.915, 0.915, _morpho_bonus(0.915), FULL_LIQUIDATION, "exchange_rate", VENUE_SOURCES["morpho_lif"],
        "rsETH/ETH market: LLTV 91.5% and exchange-rate oracle assumed; bonus = Morpho LIF",
        estimate=True),
    "morpho_stream": VenueParameters(
        0.915, 0.915, _morpho_bonus(0.915), FULL_LIQUIDATION, "hardcoded", VENUE_SOURCES["hardcoded"],
        "curated deUSD / xUSD markets priced by a hardcoded or vault-share-price oracle, so lenders "
        "bear the full loss (Stream, Nov 2025); LLTV 91.5% assumed; bonus = Morpho LIF",
        estimate=True),
    "euler_pt": VenueParameters(
        0.90, 0.90, _morpho_bonus(0.90), FULL_LIQUIDATION, "linear_discount", VENUE_SOURCES["euler_pt"],
        "Euler Yield: PT-eUSDe LLTV 90% against USDe (86% against uncorrelated assets, 92% against "
        "eUSDe); PT oracle linear discount; bonus by the Morpho LIF formula (an assumption)",
        estimate=True),
    "euler_usd0pp": VenueParameters(
        0.86, 0.86, _morpho_bonus(0.86), FULL_LIQUIDATION, "hardcoded", VENUE_SOURCES["usd0pp_lltv"],
        "USD0++ loops at LLTV 86%; oracle at the USD0++ redemption price (hardcoded, an assumption); "
        "bonus by the Morpho LIF formula", estimate=True),
    "euler_stream": VenueParameters(
        0.915, 0.915, _morpho_bonus(0.915), FULL_LIQUIDATION, "hardcoded", VENUE_SOURCES["hardcoded"],
        "xUSD markets priced by a hardcoded or vault-share-price oracle; LLTV 91.5% and bonus by "
        "the Morpho LIF formula assumed", estimate=True),
    "euler_rseth": VenueParameters(
        0.93, 0.95, 0.01, FULL_LIQUIDATION, "exchange_rate", VENUE_SOURCES["aave_wsteth"],
        "rsETH/ETH on Euler: Aave's 'rsETH LST main' parameters assumed, exchange-rate oracle, "
        "full liquidation", estimate=True),
    "fluid_lst": VenueParameters(
        0.91, 0.93, 0.01, FULL_LIQUIDATION, "exchange_rate", VENUE_SOURCES["fluid"],
        "Fluid weETH/wstETH vault: CF 91% / LT 93% / LML 95% / liquidation penalty 1%; exchange-rate "
        "oracle and full liquidation assumed (the wstETH/ETH vault is assumed alike)"),
    "compound_stream": VenueParameters(
        0.90, 0.90, 0.05, FULL_LIQUIDATION, "hardcoded", VENUE_SOURCES["hardcoded"],
        "Compound v3 deUSD market: parameters not in the sources; LT 90%, bonus 5%, a fixed-price "
        "feed and absorption of whole accounts assumed", estimate=True),
    "compound_rseth": VenueParameters(
        0.90, 0.93, 0.05, FULL_LIQUIDATION, "exchange_rate", VENUE_SOURCES["aave_wsteth"],
        "Compound v3 rsETH: parameters not in the sources; LTV 90%, LT 93%, bonus 5%, exchange-rate "
        "oracle and absorption of whole accounts assumed", estimate=True),
    "silo_stream": VenueParameters(
        0.90, 0.90, 0.05, FULL_LIQUIDATION, "hardcoded", VENUE_SOURCES["hardcoded"],
        "Silo USDX and xUSD markets: LLTV 90% and bonus 5% assumed; hardcoded oracle as in the other "
        "curated Stream-related markets", estimate=True),
    "gearbox_ezeth": VenueParameters(
        0.90, 0.90, 0.02, FULL_LIQUIDATION, "market", VENUE_SOURCES["ezeth_event"],
        "Gearbox credit accounts on ezETH were liquidated on the market-price depeg (Apr 2024): "
        "market oracle; LT 90% and bonus 2% assumed", estimate=True),
})
