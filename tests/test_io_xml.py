"""GraphML and GEXF: reading through networkx after a hardened parse; unsafe XML is rejected."""

import numpy as np
import pytest

from exposure import GraphFormatError, InvalidNetworkError
from exposure.io import check_graph, read_graph

GRAPHML = """<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="kind" for="edge" attr.name="kind" attr.type="string"/>
  <key id="amount" for="edge" attr.name="amount" attr.type="double"/>
  <key id="ea" for="node" attr.name="external_assets" attr.type="double"/>
  <key id="nk" for="node" attr.name="kind" attr.type="string"/>
  <graph edgedefault="directed">
    <node id="a"><data key="ea">10</data><data key="nk">protocol</data></node>
    <node id="b"><data key="nk">protocol</data></node>
    <node id="ETH"><data key="nk">asset</data></node>
    <edge source="a" target="b"><data key="kind">claim</data><data key="amount">{amount}</data></edge>
    <edge source="ETH" target="b"><data key="amount">3</data></edge>
  </graph>
</graphml>
"""

GEXF = """<?xml version="1.0" encoding="UTF-8"?>
<gexf xmlns="http://www.gexf.net/1.2draft" version="1.2">
  <graph defaultedgetype="directed">
    <attributes class="edge"><attribute id="0" title="amount" type="double"/></attributes>
    <nodes><node id="a" label="A"/><node id="b" label="B"/></nodes>
    <edges><edge id="0" source="a" target="b"><attvalues><attvalue for="0" value="4"/></attvalues></edge></edges>
  </graph>
</gexf>
"""


def write(tmp_path, text, name="g.graphml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_graphml_claims_follow_edge_direction(tmp_path):
    net = read_graph(write(tmp_path, GRAPHML.format(amount=4)))
    # edge a -> b is "a owes b 4"; ETH -> b (kind defaults to claim) is b's holding of the base asset ETH
    np.testing.assert_array_equal(net.liabilities.toarray(), [[0, 4, 0], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(net.external_assets, [10.0, 3.0, 0.0])


def test_gexf(tmp_path):
    net = read_graph(write(tmp_path, GEXF, "g.gexf"))
    assert net.nodes["label"].tolist() == ["A", "B"]
    assert net.liabilities.toarray()[0, 1] == 4.0


def test_graphml_bad_amount_names_the_edge(tmp_path):
    p = write(tmp_path, GRAPHML.format(amount=-4))
    with pytest.raises(InvalidNetworkError) as err:
        read_graph(p)
    assert str(err.value) == (f"{p}: edge 'a' -> 'b', attribute 'amount': error: Field 'amount' of claim edge "
                              "'a->b' must be a finite non-negative number. Got -4.0 instead.")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed">
<node id="&lol2;"/></graph></graphml>
"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE graphml SYSTEM "http://example.com/graphml.dtd">
<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed"/></graphml>
"""


@pytest.mark.parametrize("text, expected", [
    (BILLION_LAUGHS, "line 2: error: The XML document has a document type declaration (<!DOCTYPE ...>); DTDs and "
     "entities are rejected so that no entity is ever expanded. Expected plain XML without a DOCTYPE."),
    (EXTERNAL, "line 2: error: The XML document has a document type declaration (<!DOCTYPE ...>); DTDs and "
     "entities are rejected so that no entity is ever expanded. Expected plain XML without a DOCTYPE."),
    (GRAPHML.format(amount=4)[:400], "line 7: error: The XML document ends unexpectedly (is the file truncated?): "
     "unclosed token at column 3."),  # the cut "<graph" tag starts at line 7, column 3
    ("<graphml><graph></graphml>", "line 1: error: Invalid XML: mismatched tag at column 19."),
    ("", "line 1: error: The file is empty; expected an XML document."),
    ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">'
     '<node id="a"/></graph></graphml>',
     "error: The graph is undirected; expected a directed graph (edges point from debtor to creditor)."),
])
def test_unsafe_or_broken_xml_is_rejected(tmp_path, text, expected):
    p = write(tmp_path, text)
    with pytest.raises(GraphFormatError) as err:
        read_graph(p)
    assert str(err.value) == f"{p}: {expected}"
    net, problems = check_graph(p)
    assert net is None and len(problems) == 1


def test_gexf_with_entities_is_rejected(tmp_path):
    text = GEXF.replace('<gexf', '<!DOCTYPE gexf [<!ENTITY x "y">]>\n<gexf', 1)
    with pytest.raises(GraphFormatError, match="document type declaration"):
        read_graph(write(tmp_path, text, "g.gexf"))
