"""DCAT-AP 3 and data.json: a harvester parsing with rdflib finds every mandatory property."""

from __future__ import annotations

from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from tests.opendata.conftest import CLOSED, COND, OPEN

MANDATORY = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
SELECT ?ds ?title ?desc ?id ?pubname ?dist ?access WHERE {
  ?ds a dcat:Dataset ; dct:title ?title ; dct:description ?desc ; dct:identifier ?id ;
      dct:publisher ?pub ; dcat:distribution ?dist .
  ?pub foaf:name ?pubname .
  ?dist dcat:accessURL ?access .
}"""


def _graph(client, path: str, fmt: str) -> Graph:
    r = client.get(path)
    assert r.status_code == 200, r.text
    g = Graph()
    g.parse(data=r.text, format=fmt, publicID="http://127.0.0.1/")
    return g


def test_catalog_in_turtle_and_jsonld(od_client):
    for path, fmt in (("/catalog.ttl", "turtle"), ("/catalog.jsonld", "json-ld")):
        g = _graph(od_client, path, fmt)
        cats = list(g.subjects(RDF.type, DCAT.Catalog))
        assert len(cats) == 1
        cat = cats[0]
        assert g.value(cat, DCTERMS.title) and g.value(cat, DCTERMS.description)
        assert g.value(g.value(cat, DCTERMS.publisher), FOAF.name)
        ids = {str(row.id) for row in g.query(MANDATORY)}
        assert ids == {OPEN, COND}
        assert {str(x) for x in g.objects(cat, DCAT.dataset)} == {f"http://127.0.0.1/dataset/{c}" for c in (OPEN, COND)}
        ds = next(iter(g.subjects(DCTERMS.identifier, __import__("rdflib").Literal(OPEN))))
        for prop in (DCAT.keyword, DCAT.theme, DCTERMS.spatial, DCTERMS.temporal, DCTERMS.issued, DCTERMS.modified,
                     DCAT.contactPoint):
            assert g.value(ds, prop) is not None, prop
        dist = next(iter(g.objects(ds, DCAT.distribution)))
        for prop in (DCAT.accessURL, DCTERMS.format, DCAT.mediaType, DCTERMS.license):
            assert g.value(dist, prop) is not None, prop
        downloads = {str(o) for d in g.objects(ds, DCAT.distribution) for o in g.objects(d, DCAT.downloadURL)}
        assert f"http://127.0.0.1/open/datasets/{OPEN}/download.csv" in downloads
        assert "SENTINEL" not in g.serialize(format="turtle")


def test_dataset_documents_and_paging(od_client):
    g = _graph(od_client, f"/dataset/{OPEN}.ttl", "turtle")
    assert len(list(g.query(MANDATORY))) >= 5
    g = _graph(od_client, f"/dataset/{COND}.jsonld", "json-ld")
    assert {str(r.id) for r in g.query(MANDATORY)} == {COND}
    assert od_client.get(f"/dataset/{CLOSED}.ttl").status_code == 404
    assert od_client.get("/catalog.ttl?page=0").status_code == 422
    page2 = _graph(od_client, "/catalog.ttl?page=2", "turtle")
    assert list(page2.subjects(RDF.type, DCAT.Dataset)) == []
    assert "totalItems" in od_client.get("/catalog.ttl").text


def test_data_json(od_client):
    doc = od_client.get("/data.json").json()
    assert doc["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    by_id = {d["identifier"]: d for d in doc["dataset"]}
    assert set(by_id) == {OPEN, COND}
    d = by_id[OPEN]
    assert d["accessLevel"] == "public" and by_id[COND]["accessLevel"] == "restricted public"
    assert d["publisher"]["name"] and d["contactPoint"]["hasEmail"].startswith("mailto:")
    assert d["keyword"] and d["modified"] and d["title"] and d["description"]
    assert all(("downloadURL" in x and "mediaType" in x) or "accessURL" in x for x in d["distribution"])
