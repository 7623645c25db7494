"""The CSV form (nodes.csv + edges.csv): reading, line numbers, bad input with exact messages."""

import numpy as np
import pandas as pd
import pytest

from exposure import GraphFormatError, InvalidNetworkError
from exposure.io import check_graph, read_graph

NODES = "id,kind,external_assets,external_liabilities\na,protocol,10,0\nb,protocol,1,2\nETH,asset,,\n"
EDGES = "kind,debtor,creditor,amount,source\nclaim,a,b,4,s1\nclaim,ETH,b,3,\n"


def graph(tmp_path, nodes=NODES, edges=EDGES):
    d = tmp_path / "g"
    d.mkdir(exist_ok=True)
    for name, text in (("nodes.csv", nodes), ("edges.csv", edges)):
        (d / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return d


def messages(d):
    net, problems = check_graph(d)
    return [str(p).replace(str(d) + "/", "") for p in problems]


def test_reads_directory_and_pair(tmp_path):
    d = graph(tmp_path)
    for src in (d, (d / "nodes.csv", d / "edges.csv"), str(d)):
        net = read_graph(src)
        # a owes b 4; b's 3 of ETH is a base-asset holding: e_b = 1 + 3; empty cells take defaults (0)
        np.testing.assert_array_equal(net.liabilities.toarray(), [[0, 4, 0], [0, 0, 0], [0, 0, 0]])
        np.testing.assert_array_equal(net.external_assets, [10.0, 4.0, 0.0])
        np.testing.assert_array_equal(net.external_liabilities, [0.0, 2.0, 0.0])
        assert net.version == 1
        assert net.claims["source"].tolist()[0] == "s1" and net.claims["source"].isna().tolist()[1]


def test_numeric_looking_ids_stay_strings(tmp_path):
    d = graph(tmp_path, "id\n1\n2\n", "debtor,creditor,amount\n1,2,1e3\n")
    net = read_graph(d)
    assert list(net.node_ids) == ["1", "2"] and net.liabilities.toarray()[0, 1] == 1000.0


def test_version_2_is_inferred_from_the_edge_kinds(tmp_path):
    d = graph(tmp_path, "id,kind\nw,protocol\nt,token\n", "kind,holder,token,amount\nholding,w,t,5\n")
    net = read_graph(d)
    assert net.version == 2 and len(net.holdings) == 1


def test_bad_rows_are_named_with_their_line(tmp_path):
    nodes = 'id,kind,external_assets\na,protocol,10\nb,,x\na,token,\n"c\nd",protocol,nan\n\ne,asset,inf\nf,,\n'
    edges = "debtor,creditor,amount,source\na,b,4,s1\na,zz,1,\na,b,-3,\nf,f,nan,\nf,e,,x\na,f,1.5.2,\n"
    assert messages(graph(tmp_path, nodes, edges)) == [
        "nodes.csv: line 3: error: Field 'external_assets' of node 'b' must be a finite number. "
        "Got the string 'x' instead.",
        "nodes.csv: line 4: error: Duplicate node id 'a': it is already defined by node number 0.",
        # the quoted id spans lines 5-6: the record starts on line 5
        "nodes.csv: line 5: error: Field 'external_assets' of node 'c\\nd' must be a finite number. Got NaN instead.",
        # line 7 is blank and skipped
        "nodes.csv: line 8: error: Field 'external_assets' of node 'e' must be a finite non-negative number. "
        "Got inf instead.",
        "edges.csv: line 3: error: Field 'creditor' of claim 'a->zz' refers to unknown node 'zz'.",
        "edges.csv: line 4: error: Field 'amount' of claim edge 'a->b' must be a finite non-negative number. "
        "Got -3.0 instead.",
        "edges.csv: line 5: error: Claim edge 'f->f' has the same node as debtor and creditor; self-claims are "
        "not allowed.",
        "edges.csv: line 5: error: Field 'amount' of claim edge 'f->f' must be a finite number. Got NaN instead.",
        "edges.csv: line 6: error: Claim 'f->e': creditor 'e' is a base asset (kind 'asset'), which cannot hold "
        "claims.",
        "edges.csv: line 6: error: Field 'amount' of claim edge 'f->e' is required but missing.",
        "edges.csv: line 7: error: Field 'amount' of claim edge 'a->f' must be a finite number. "
        "Got the string '1.5.2' instead.",
    ]


def test_unknown_kind_and_version_2_kind(tmp_path):
    d = graph(tmp_path, "id\na\nb\n", "kind,debtor,creditor,amount\nloan,a,b,1\n")
    assert messages(d) == ["edges.csv: line 2: error: Field 'kind' of edge number 0 must be one of claim. "
                           "Got the string 'loan' instead."]


def test_invalid_content_raises_with_every_error(tmp_path):
    d = graph(tmp_path, "id\na\nb\n", "debtor,creditor,amount\na,x,1\na,y,2\n")
    with pytest.raises(InvalidNetworkError) as err:
        read_graph(d)
    assert str(err.value).replace(str(d) + "/", "") == (
        "edges.csv: line 2: error: Field 'creditor' of claim 'a->x' refers to unknown node 'x'.\n"
        "edges.csv: line 3: error: Field 'creditor' of claim 'a->y' refers to unknown node 'y'.")


@pytest.mark.parametrize("nodes, edges, expected", [
    (NODES, 'debtor,creditor,amount\na,b,"4\n', "edges.csv: line 2: error: A quoted cell is never closed "
     "(is the file truncated?); expected a closing double quote."),
    (NODES, "debtor,creditor,amount\na,b,4\na,b,4,9\n", "edges.csv: line 3: error: Expected 3 cells as in the "
     "header. Got 4 instead."),
    ("", EDGES, "nodes.csv: line 1: error: The file is empty; expected a header line with column names."),
    ("name\na\n", EDGES, "nodes.csv: line 1: error: The header has no column 'id'; expected columns id, kind, "
     "label, external_assets, external_liabilities. Found: name."),
    (NODES, "debtor,creditor\na,b\n", "edges.csv: line 1: error: The header has no column 'amount'; expected "
     "columns kind, debtor, creditor, amount (kind optional). Found: debtor, creditor."),
    (NODES, "debtor,creditor,amount,amount\na,b,1,2\n", "edges.csv: line 1: error: The header names column "
     "'amount' more than once; expected each column once."),
    ("id,label\na,caf\xe9\n".encode("latin-1"), EDGES, "nodes.csv: line 2: error: The file is not valid UTF-8: "
     "byte 0xe9 at byte offset 14 cannot be decoded. Expected UTF-8 text; re-save the file as UTF-8."),
    (NODES.encode("utf-16"), EDGES, "nodes.csv: line 1: error: The file is encoded as UTF-16 (it starts with a "
     "UTF-16 byte-order mark); expected UTF-8. Re-save it as UTF-8."),
])
def test_unreadable_csv(tmp_path, nodes, edges, expected):
    d = graph(tmp_path, nodes, edges)
    with pytest.raises(GraphFormatError) as err:
        read_graph(d)
    assert str(err.value).replace(str(d) + "/", "") == expected


def test_empty_graph(tmp_path):
    d = graph(tmp_path, "id,kind\n", "debtor,creditor,amount\n")
    assert messages(d) == ["nodes.csv: error: The graph has no nodes; expected at least one."]


def test_directory_without_the_files(tmp_path):
    (tmp_path / "g").mkdir()
    with pytest.raises(GraphFormatError) as err:
        read_graph(tmp_path / "g")
    assert str(err.value) == (f"{tmp_path / 'g'}: error: The directory has no nodes.csv and no edges.csv; "
                              "a CSV graph is a directory holding nodes.csv and edges.csv.")


def test_string_lookup_agrees_with_get_indexer():
    # the C hash-table lookup (with its one-lookup-per-run shortcut) against pandas' get_indexer
    from exposure.io._csv import _string_lookup
    rng = np.random.default_rng(0)
    ids = np.array([f"n{i}" for i in range(500)], dtype=object)
    index = pd.Index(ids)
    find = _string_lookup(index)
    values = np.concatenate([ids, np.array(["zz", "", "n1 "], dtype=object)])
    for x in (values[np.sort(rng.integers(0, len(values), 3000))], values[rng.integers(0, len(values), 3000)],
              values[:1], values[:0]):
        np.testing.assert_array_equal(find(x), index.get_indexer(x))


def test_many_repeated_claims_are_counted_not_all_listed(tmp_path):
    # 120 distinct pairs each given twice: 50 warnings listed, then one line counting the other 70
    rows = "".join(f"a{i},b{i},1\na{i},b{i},2\n" for i in range(120))
    ids = "".join(f"a{i}\nb{i}\n" for i in range(120))
    d = graph(tmp_path, "id\n" + ids, "debtor,creditor,amount\n" + rows)
    net = read_graph(d)
    assert len(net.problems) == 51 and all(p.severity == "warning" for p in net.problems)
    assert net.problems[0].message == "Claim 'a0->b0' appears 2 times (edges 0, 1); the amounts are summed."
    assert net.problems[-1].message.startswith("70 more edges with the same problem")
    assert net.liabilities.sum() == 360.0  # 120 pairs x (1 + 2)


def test_a_number_too_large_for_a_float_is_an_infinity_under_every_parser(tmp_path):
    # "1e400" overflows to inf (Arrow and pandas 3 read it so; pandas 2's to_numeric says NaN): the
    # message names the infinity, whichever parser read the file
    d = tmp_path / "g"
    d.mkdir()
    (d / "nodes.csv").write_text("id,external_assets\na,1e400\n", encoding="utf-8")
    (d / "edges.csv").write_text("debtor,creditor,amount\n", encoding="utf-8")
    (problem,) = check_graph(d)[1]
    assert problem.message == ("Field 'external_assets' of node 'a' must be a finite non-negative number. "
                               "Got inf instead.")
