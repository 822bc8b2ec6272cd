"""The benchmark's world: in-process moto provisioned from template.yaml (as in tests/conftest.py),
distinct plausible leads, and the real Lambda handlers driven with the events AWS delivers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LOCAL_PARAMETERS = {"PublicBaseUrl": "http://127.0.0.1:8000"}
KEYS_SEED = "bench-secret-bench-secret-bench-secret-00"


def environment() -> None:
    """A fake account, never a real one (set before boto3/pynamodb read it)."""
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-central-1", "AWS_REGION": "eu-central-1",
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "LeadflowBench",
        "POWERTOOLS_DEV": "false", "LEADFLOW_STAGE": "dev", "POWERTOOLS_LOG_LEVEL": "WARNING",
    })
    os.environ.pop("AWS_ENDPOINT_URL", None)


def reset_caches() -> None:
    from leadflow.adapters.aws import reset_clients
    from leadflow.services import config
    from leadflow.settings import get_settings
    from leadflow.store.models import reset_connections

    get_settings.cache_clear()
    reset_clients()
    config.clear_cache()
    reset_connections()


@contextmanager
def moto_stack() -> Iterator[Any]:
    """A fresh emulated account with every resource template.yaml declares."""
    environment()
    from moto import mock_aws

    from infra.provision import provision
    from infra.template import load_wiring

    with mock_aws():
        stack = provision(load_wiring(parameters={"Stage": "dev"}), name="leadflow", parameters=LOCAL_PARAMETERS,
                          keys_seed=KEYS_SEED)
        os.environ.update(stack.environment())
        reset_caches()
        try:
            yield stack
        finally:
            reset_caches()


# ------------------------------------------------------------------------------ leads

FIRST = ("Katharina", "Jonas", "Sabine", "Thomas", "Julia", "Michael", "Laura", "Stefan", "Anna", "Markus",
         "Claudia", "Andreas", "Nina", "Tobias", "Petra", "Florian", "Sandra", "Daniel", "Martina", "Christian",
         "Miriam", "Sebastian", "Kerstin", "Matthias", "Ulrike", "Philipp", "Heike", "Lukas", "Birgit", "Jan")
# distinct first four letters (the dedup blocking key uses them)
LAST = ("Brandt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch",
        "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
        "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Maier", "Köhler", "Herrmann",
        "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Vogel", "Berger", "Frank")
# company names: distinct first three letters
FIRMS = ("Nordlicht", "Alpen", "Rhein", "Hansa", "Elbe", "Main", "Donau", "Weser", "Spree", "Isar", "Mosel",
         "Ostsee", "Harz", "Taunus", "Eifel", "Kraichgau", "Bodensee", "Schwarzwald", "Lausitz", "Vogtland", "Pfalz",
         "Sauerland", "Allgäu", "Emsland", "Fichtel", "Uckermark", "Jura", "Lahn", "Gera", "Ruhr")
TRADE = ("Spedition", "Logistik", "Lagertechnik", "Transporte", "Handel", "Maschinenbau", "Versand", "Fördertechnik")
# city, postal code, phone area code
PLACES = (("Hamburg", "20457", "40"), ("Berlin", "10115", "30"), ("München", "80331", "89"),
          ("Köln", "50667", "221"), ("Frankfurt am Main", "60311", "69"), ("Stuttgart", "70173", "711"),
          ("Düsseldorf", "40213", "211"), ("Leipzig", "04109", "341"), ("Hannover", "30159", "511"),
          ("Nürnberg", "90402", "911"))
TITLES = ("Geschäftsführerin", "Leiter Logistik", "Einkaufsleiterin", "Head of Operations", "Lagerleiter",
          "Prokurist", "Leiterin Supply Chain", "Geschäftsführer")
INTERESTS = (["Lagerlogistik", "Fuhrpark"], ["Lagerlogistik"], ["Fuhrpark"], ["Lagerlogistik", "ERP"])
QUOTE = "Bitte senden Sie uns ein Angebot für {n} Standorte"
JUNK = {"firstName": "asdf", "lastName": "asdf", "email": "test@test.com", "phone": "123456", "city": "xxx",
        "country": "DE"}


def lead_body(i: int, *, consent: bool = True, quote: bool = False, tag: str = "b") -> dict[str, Any]:
    """Lead number i: a distinct, plausible German B2B contact. Email and phone differ for every i;
    for i < 1200 name + company differ too, and so does the dedup blocking key (surname and company
    prefixes), so qualification finds no candidate duplicates: the common case, not the worst."""
    first = FIRST[i % len(FIRST)]
    last = LAST[(i // len(FIRST)) % len(LAST)]
    firm = FIRMS[i % len(FIRMS)]
    trade = TRADE[i % len(TRADE)]
    city, postal, area = PLACES[i % len(PLACES)]
    company = f"{firm} {trade} GmbH"

    def ascii_(text: str) -> str:
        return text.lower().replace("ö", "oe").replace("ü", "ue").replace("ä", "ae")

    body = {
        "firstName": first, "lastName": last,
        "email": f"{ascii_(first)}.{ascii_(last)}@{tag}{i}-{ascii_(firm)}-{ascii_(trade)}.de",
        "phone": f"+49 {area} {3000000 + i * 17:07d}", "company": company, "jobTitle": TITLES[i % len(TITLES)],
        "street": "Hauptstraße 5", "postalCode": postal, "city": city, "country": "DE",
        "interests": INTERESTS[i % len(INTERESTS)], "source": "website", "formId": "contact",
    }
    if consent:
        body["consent"] = {"purposes": ["email_marketing"], "textVersion": "v1"}
    if quote:
        body["message"] = QUOTE.format(n=2 + i % 5)
    return body


# ------------------------------------------------------------------------------ invoking handlers

def capture(body: dict[str, Any]) -> str:
    from functions.capture import handler
    from tests.helpers import LambdaContext, http_event

    response = handler(http_event("POST", "/leads", body=body, headers={"origin": "https://www.example.com"}),
                       LambdaContext())
    if response["statusCode"] != 202:
        raise RuntimeError(f"capture answered {response['statusCode']}: {response.get('body')}")
    return json.loads(response["body"])["id"]


def preflight() -> int:
    from functions.capture import handler
    from tests.helpers import LambdaContext, http_event

    return handler(http_event("OPTIONS", "/leads", headers={
        "origin": "https://www.example.com", "access-control-request-method": "POST",
        "access-control-request-headers": "content-type"}), LambdaContext())["statusCode"]


def receive(stack, queue: str, max_messages: int = 10) -> list[dict[str, Any]]:
    """Messages waiting on a queue (the harness's own requests: call outside counting()); the outbox
    stream consumers run first, as they would have by the time a poller looks."""
    import boto3

    from tests.helpers import settle

    settle(stack)

    sqs = boto3.client("sqs", region_name="eu-central-1")
    url = stack.queue_url(queue)
    out: list[dict[str, Any]] = []
    while True:
        page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=max_messages).get("Messages", [])
        if not page:
            return out
        for m in page:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        out += page
        if len(out) >= max_messages:
            return out


def deliver(handler, bodies: list[str]) -> None:
    """One invocation with these SQS messages, as the event source mapping delivers them."""
    from tests.helpers import LambdaContext, sqs_event

    if not bodies:
        return
    result = handler(sqs_event(bodies), LambdaContext())
    if result.get("batchItemFailures"):
        raise RuntimeError(f"{handler.__module__}: failed items {result['batchItemFailures']}")


def gql(query: str, variables: dict | None = None, *, role: str = "admin", user: str | None = None) -> dict:
    from functions.graphql_api import handler
    from tests.helpers import graphql

    return graphql(handler, query, variables, role=role, user=user)
