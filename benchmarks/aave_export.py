"""A seeded generator of Aave-v3-subgraph-shaped exports: ``reserves`` and ``userReserves``.

The records have the fields and units of the Aave v3 subgraph (``schemas/v3.schema.graphql``):
raw integer amounts in each reserve's decimals, parameters in basis points with the liquidation
bonus including the principal, ``price.priceInEth`` = USD x 1e8, e-mode categories, users with
``eModeCategoryId``. 24 reserves; each account supplies one or two collateral reserves (from its
e-mode's set when it is in one) and borrows from zero to two reserves (about 2.4 user reserves per
account); the export holds exactly ``n`` user reserves. Balances are lognormal; the reserves' totals are the sums over
the accounts, plus other suppliers (outside the export) who supply 1.25 x the debt.

    python3 benchmarks/aave_export.py 1000000 benchmarks/data/aave-1000000-seed0.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

POOL = "0x2f39d218133afab8f2b819b1066c7e434ad94e9e"
#: symbol, decimals, USD price, LTV, LT, bonus (bp, bonus including principal), e-mode
RESERVES = [
    ("WETH", 18, 3900, 8050, 8300, 10500, 1), ("wstETH", 18, 4700, 7850, 8100, 10600, 1),
    ("weETH", 18, 4150, 7250, 7500, 10750, 1), ("rsETH", 18, 4050, 7200, 7500, 10750, 1),
    ("ezETH", 18, 4000, 7200, 7500, 10750, 1), ("ETHx", 18, 4150, 7450, 7700, 10750, 1),
    ("cbETH", 18, 4300, 7500, 7900, 10750, 1), ("rETH", 18, 4450, 7450, 7700, 10750, 1),
    ("USDC", 6, 1, 7500, 7800, 10450, 2), ("USDT", 6, 1, 7500, 7800, 10450, 2),
    ("DAI", 18, 1, 6300, 7700, 10500, 2), ("USDS", 18, 1, 7500, 7800, 10750, 2),
    ("sUSDe", 18, 1.19, 7200, 7500, 10850, 2), ("USDe", 18, 1, 7200, 7500, 10850, 2),
    ("GHO", 18, 1, 0, 0, 10000, 2), ("PYUSD", 6, 1, 7500, 7800, 10750, 2),
    ("WBTC", 8, 100_000, 7300, 7800, 10500, 0), ("cbBTC", 8, 100_000, 7300, 7800, 10750, 0),
    ("tBTC", 18, 100_000, 7300, 7800, 10750, 0), ("LINK", 18, 17, 6600, 7100, 10700, 0),
    ("AAVE", 18, 230, 6600, 7300, 10750, 0), ("UNI", 18, 7, 6500, 7700, 11000, 0),
    ("CRV", 18, 0.6, 3500, 4100, 10830, 0), ("LDO", 18, 1.1, 4000, 5000, 10900, 0),
]
EMODES = {1: ("ETH correlated", 9300, 9500, 10100), 2: ("Stablecoins", 9300, 9500, 10100)}


def _addr(prefix: int, i: int) -> str:
    return f"0x{prefix:02x}{i:038x}"


def write_aave_export(n: int, path: Path, seed: int = 0) -> Path:
    """Write an export of about ``n`` user reserves to ``path``; return the path."""
    rng = np.random.default_rng(seed)
    m = len(RESERVES)
    emode_of = np.array([r[6] for r in RESERVES])
    collateral_ok = np.array([r[4] > 0 for r in RESERVES])
    n_users = int(n / 2.2) + 1          # about 2.4 user reserves per account: enough accounts for n
    user_emode = rng.choice([0, 1, 2], size=n_users, p=[0.5, 0.35, 0.15])
    rows: list[tuple[int, int, float, float, bool]] = []   # user, reserve, supply units, debt units, coll
    per_user_coll = rng.integers(1, 3, size=n_users)
    per_user_debt = rng.choice([0, 1, 2], size=n_users, p=[0.3, 0.5, 0.2])
    usd = rng.lognormal(9.0, 1.6, size=n_users)
    prices = np.array([r[2] for r in RESERVES], dtype=float)
    for u in range(n_users):
        em = user_emode[u]
        pool_c = np.flatnonzero(collateral_ok & ((emode_of == em) if em else True))
        pool_d = np.flatnonzero((emode_of == em) if em else np.ones(m, bool))
        cs = rng.choice(pool_c, size=min(per_user_coll[u], len(pool_c)), replace=False)
        ds = rng.choice(pool_d, size=min(per_user_debt[u], len(pool_d)), replace=False)
        share = rng.dirichlet(np.ones(len(cs)))
        for c, s in zip(cs, share):
            rows.append((u, int(c), usd[u] * s / prices[c], 0.0, True))
        if len(ds):
            dshare = rng.dirichlet(np.ones(len(ds))) * rng.uniform(0.3, 0.85)
            for d, s in zip(ds, dshare):
                rows.append((u, int(d), 0.0, usd[u] * s / prices[d], False))
        if len(rows) >= n:
            break
    rows = rows[:n]
    sup = np.zeros(m)
    debt = np.zeros(m)
    for _, r, s, d, _ in rows:
        sup[r] += s
        debt[r] += d
    total_supply = sup + 1.25 * debt     # other suppliers (not in the export) fund the loans
    reserves = []
    for i, (sym, dec, price, ltv, lt, bonus, em) in enumerate(RESERVES):
        scale = 10 ** dec
        rec = {"id": _addr(1, i) + POOL, "symbol": sym, "decimals": dec, "usageAsCollateralEnabled": lt > 0,
               "baseLTVasCollateral": str(ltv), "reserveLiquidationThreshold": str(lt),
               "reserveLiquidationBonus": str(bonus), "totalATokenSupply": str(int(total_supply[i] * scale)),
               "availableLiquidity": str(int((total_supply[i] - debt[i]) * scale)),
               "totalCurrentVariableDebt": str(int(debt[i] * scale)), "totalPrincipalStableDebt": "0",
               "price": {"priceInEth": str(int(round(price * 1e8)))}, "pool": {"id": POOL},
               "eMode": None if not em else {"id": str(em), "label": EMODES[em][0], "ltv": str(EMODES[em][1]),
                                              "liquidationThreshold": str(EMODES[em][2]),
                                              "liquidationBonus": str(EMODES[em][3])}}
        reserves.append(rec)
    path.parent.mkdir(parents=True, exist_ok=True)
    decs = [10 ** r[1] for r in RESERVES]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('{"data": {"_meta": {"block": {"number": 23690000, "timestamp": 1761868800}},\n"reserves": ')
        fh.write(json.dumps(reserves))
        fh.write(',\n"userReserves": [\n')
        out = []
        for k, (u, r, s, d, coll) in enumerate(rows):
            out.append('{"user": {"id": "%s", "eModeCategoryId": %d}, "reserve": {"id": "%s"}, '
                       '"currentATokenBalance": "%d", "currentTotalDebt": "%d", '
                       '"usageAsCollateralEnabledOnUser": %s}'
                       % (_addr(2, u), user_emode[u], reserves[r]["id"], int(s * decs[r]), int(d * decs[r]),
                          "true" if coll else "false"))
            if len(out) == 10_000:
                fh.write(",\n".join(out) + (",\n" if k + 1 < len(rows) else "\n"))
                out = []
        if out:
            fh.write(",\n".join(out) + "\n")
        fh.write("]}}\n")
    return path


if __name__ == "__main__":
    write_aave_export(int(sys.argv[1]), Path(sys.argv[2]))
