"""DCAT-AP 3 (JSON-LD, Turtle) as ckanext-dcat serves it, and Project Open Data v1.1 ``data.json``."""

from __future__ import annotations

from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD
from sqlalchemy.orm import Session

from citybase.catalog.schemas import ResourceOut
from citybase.config import get_settings
from citybase.core.errors import BadInput
from citybase.opendata.service import packages
from citybase.opendata.service.public import get_listed, listed_resources

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
EUROVOC_THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
FREQ = Namespace("http://publications.europa.eu/resource/authority/frequency/")
LANG_ZH = URIRef("http://publications.europa.eu/resource/authority/language/ZHO")
PAGE_SIZE = 100
CYCLES = {"实时": "CONT", "每日": "DAILY", "每周": "WEEKLY", "每月": "MONTHLY", "每季度": "QUARTERLY",
          "每年": "ANNUAL", "不定期": "IRREG"}
CONTEXT = {"dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "vcard": str(VCARD), "hydra": str(HYDRA),
           "xsd": str(XSD), "adms": str(ADMS)}


def _bind(g: Graph) -> Graph:
    for k, v in CONTEXT.items():
        g.bind(k, v)
    return g


def _city() -> tuple[str, str]:
    s = get_settings()
    try:
        from citybase.reference import divisions

        return s.city_code, divisions.city_profile(s.city_code).name
    except Exception:  # noqa: BLE001 - the name is decorative
        return s.city_code, "无锡市"


def _publisher(g: Graph, base: str, code: str, name: str) -> URIRef:
    node = URIRef(f"{base}/open/organizations/{code}")
    g.add((node, RDF.type, FOAF.Agent))
    g.add((node, FOAF.name, Literal(name, lang="zh")))
    g.add((node, DCTERMS.identifier, Literal(code)))
    return node


def add_dataset(g: Graph, session: Session, res: ResourceOut, base: str) -> URIRef:
    pkg = packages.package_dict(session, res, base)
    ds = URIRef(f"{base}/dataset/{res.code}")
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal(res.name, lang="zh")))
    g.add((ds, DCTERMS.description, Literal(res.summary or res.name, lang="zh")))
    g.add((ds, DCTERMS.identifier, Literal(res.code)))
    g.add((ds, DCAT.landingPage, URIRef(f"{base}/open/datasets/{res.code}")))
    g.add((ds, DCTERMS.language, LANG_ZH))
    g.add((ds, DCTERMS.accessRights, Literal(res.open_type, lang="zh")))
    if res.published_at or res.publish_date:
        issued = res.publish_date.isoformat() if res.publish_date else res.published_at.date().isoformat()  # type: ignore[union-attr]
        g.add((ds, DCTERMS.issued, Literal(issued, datatype=XSD.date)))
    g.add((ds, DCTERMS.modified, Literal(res.updated_at.replace(tzinfo=None).isoformat(timespec="seconds"),
                                         datatype=XSD.dateTime)))
    for k in res.keywords:
        g.add((ds, DCAT.keyword, Literal(k, lang="zh")))
    theme = URIRef(f"{base}/open/groups/{packages.group_name(res)}")
    g.add((ds, DCAT.theme, theme))
    g.add((theme, RDF.type, URIRef("http://www.w3.org/2004/02/skos/core#Concept")))
    g.add((theme, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"), Literal(packages.group_title(res), lang="zh")))
    g.add((ds, DCTERMS.accrualPeriodicity, FREQ[CYCLES.get(res.update_cycle, "IRREG")]))
    g.add((ds, DCTERMS.publisher, _publisher(g, base, res.provider_code, res.provider_name)))
    city_code, city_name = _city()
    spatial = URIRef(f"{base}/open/divisions/{city_code}")
    g.add((spatial, RDF.type, DCTERMS.Location))
    g.add((spatial, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"), Literal(city_name, lang="zh")))
    g.add((spatial, DCTERMS.identifier, Literal(city_code)))
    g.add((ds, DCTERMS.spatial, spatial))
    period = BNode()
    g.add((period, RDF.type, DCTERMS.PeriodOfTime))
    start = res.publish_date.isoformat() if res.publish_date else res.created_at.date().isoformat()
    g.add((period, DCAT.startDate, Literal(start, datatype=XSD.date)))
    g.add((ds, DCTERMS.temporal, period))
    contact = BNode()
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, VCARD.fn, Literal(res.provider_name, lang="zh")))
    g.add((contact, VCARD.hasURL, URIRef(f"{base}/open/demands")))
    g.add((ds, DCAT.contactPoint, contact))
    for r in pkg["resources"]:
        dist = URIRef(f"{base}/dataset/{res.code}/resource/{r['id']}")
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(r["name"], lang="zh")))
        g.add((dist, DCTERMS.description, Literal(r["description"], lang="zh")))
        g.add((dist, DCAT.accessURL, URIRef(f"{base}/open/datasets/{res.code}")))
        if r["format"] != "HTML":
            g.add((dist, DCAT.downloadURL, URIRef(r["url"])))
        g.add((dist, DCTERMS.format, Literal(r["format"])))
        g.add((dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{r['mimetype']}")))
        g.add((dist, DCTERMS.license, URIRef(packages.LICENSE["url"])))
        g.add((ds, DCAT.distribution, dist))
    return ds


def _catalog_node(g: Graph, base: str) -> URIRef:
    cat = URIRef(f"{base}/catalog")
    city_code, city_name = _city()
    g.add((cat, RDF.type, DCAT.Catalog))
    g.add((cat, DCTERMS.title, Literal(f"{city_name}公共数据开放平台", lang="zh")))
    g.add((cat, DCTERMS.description, Literal(f"{city_name}各部门依法向社会开放的公共数据目录", lang="zh")))
    g.add((cat, DCTERMS.publisher, _publisher(g, base, "bureau", f"{city_name}大数据管理局")))
    g.add((cat, DCTERMS.language, LANG_ZH))
    g.add((cat, FOAF.homepage, URIRef(f"{base}/open")))
    g.add((cat, DCTERMS.license, URIRef(packages.LICENSE["url"])))
    return cat


def catalog_graph(session: Session, base: str, page: int = 1) -> Graph:
    if page < 1 or page > 100000:
        raise BadInput("page 必须是正整数", code="bad_page")
    g = _bind(Graph())
    cat = _catalog_node(g, base)
    items = listed_resources(session)
    chunk = items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    for res in chunk:
        g.add((cat, DCAT.dataset, add_dataset(g, session, res, base)))
    last = max(1, -(-len(items) // PAGE_SIZE))
    coll = URIRef(f"{base}/catalog.ttl?page={page}")
    g.add((coll, RDF.type, HYDRA.PagedCollection))
    g.add((coll, HYDRA.totalItems, Literal(len(items), datatype=XSD.integer)))
    g.add((coll, HYDRA.itemsPerPage, Literal(PAGE_SIZE, datatype=XSD.integer)))
    g.add((coll, HYDRA.firstPage, Literal(f"{base}/catalog.ttl?page=1")))
    g.add((coll, HYDRA.lastPage, Literal(f"{base}/catalog.ttl?page={last}")))
    if page < last:
        g.add((coll, HYDRA.nextPage, Literal(f"{base}/catalog.ttl?page={page + 1}")))
    return g


def dataset_graph(session: Session, base: str, code: str) -> Graph:
    g = _bind(Graph())
    add_dataset(g, session, get_listed(session, code), base)
    return g


def serialize(g: Graph, fmt: str) -> str:
    if fmt == "jsonld":
        return g.serialize(format="json-ld", context=CONTEXT, indent=2)
    return g.serialize(format="turtle")


def data_json(session: Session, base: str) -> dict[str, Any]:
    """Project Open Data v1.1 catalog."""
    datasets = []
    for res in listed_resources(session):
        pkg = packages.package_dict(session, res, base)
        dists = []
        for r in pkg["resources"]:
            if r["format"] == "HTML":
                dists.append({"@type": "dcat:Distribution", "accessURL": r["url"], "title": r["name"]})
            else:
                dists.append({"@type": "dcat:Distribution", "downloadURL": r["url"], "mediaType": r["mimetype"],
                              "format": r["format"], "title": r["name"]})
        datasets.append({
            "@type": "dcat:Dataset", "title": res.name, "description": res.summary or res.name,
            "keyword": res.keywords or [res.name], "modified": res.updated_at.date().isoformat(),
            "publisher": {"@type": "org:Organization", "name": res.provider_name},
            "contactPoint": {"@type": "vcard:Contact", "fn": res.provider_name,
                             "hasEmail": f"mailto:opendata@{res.provider_code}.gov.cn"},
            "identifier": res.code,
            "accessLevel": "public" if res.open_type == "无条件开放" else "restricted public",
            "rights": res.open_condition or None, "license": packages.LICENSE["url"],
            "landingPage": f"{base}/open/datasets/{res.code}", "theme": [packages.group_title(res)],
            "accrualPeriodicity": res.update_cycle, "distribution": dists})
    for d in datasets:
        if d["rights"] is None:
            del d["rights"]
    return {"@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld", "@type": "dcat:Catalog",
            "conformsTo": "https://project-open-data.cio.gov/v1.1/schema", "describedBy":
            "https://project-open-data.cio.gov/v1.1/schema/catalog.json", "dataset": datasets}
