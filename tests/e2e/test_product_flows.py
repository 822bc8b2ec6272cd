"""The product driven as a user would, over HTTP on `leadflow dev`: nurturing with
double opt-in and tracked mail, routing of MQLs, the rep's scope, junk disqualified."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.e2e.test_local_stack import DevProcess, cli_token, eventually

pytestmark = pytest.mark.e2e

CONSENTING = {"firstName": "Greta", "lastName": "Lindner", "email": "greta.lindner@lindner-holz.de",
              "phone": "+49 89 2180 3131", "company": "Lindner Holzbau GmbH", "jobTitle": "Einkäuferin",
              "postalCode": "80539", "city": "München", "country": "DE", "interests": ["Lagerlogistik"],
              "consent": {"purposes": ["email_marketing"], "textVersion": "v1"}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    process = DevProcess(tmp_path_factory.mktemp("flows"), "flows", "--no-schedules",
                         state_dir=tmp_path_factory.mktemp("state"))
    yield process
    if process.proc.poll() is None:
        process.interrupt()


def gql(stack, query: str, variables: dict | None = None, role: str = "admin", user: str | None = None) -> dict:
    token = cli_token(role) if user is None else _token(role, user, stack.state_file)
    response = requests.post(stack.base_url + "/graphql", json={"query": query, "variables": variables or {}},
                             headers={"authorization": f"Bearer {token}"}, timeout=30)
    return response.json()


def _token(role: str, user: str, stack_file) -> str:
    """Reps and managers are checked against the routing rules of this stack (published by the test)."""
    import os
    import subprocess

    from tests.e2e.test_local_stack import BIN, REPO, SECRET

    return subprocess.run([str(BIN / "leadflow"), "token", "--role", role, "--user", user,
                           "--stack-file", str(stack_file)], cwd=REPO, check=True,
                          capture_output=True, text=True, env={**os.environ, "LEADFLOW_DEV_SECRET": SECRET}
                          ).stdout.strip()


def capture(stack, body: dict) -> str:
    response = requests.post(stack.base_url + "/leads", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def mailbox(stack, to: str) -> list[dict]:
    return [m for m in requests.get(stack.base_url + "/dev/mail.json", timeout=30).json() if to in m["to"]]


def run_schedule(stack, name: str) -> None:
    assert requests.post(f"{stack.base_url}/dev/schedules/{name}", timeout=60).status_code == 200


def links(mail: dict) -> list[str]:
    return re.findall(r'href="([^"]+)"', mail["html"].replace("&amp;", "&"))


def test_double_opt_in_welcome_once_tracked_click_and_unsubscribe(stack):
    lead_id = capture(stack, CONSENTING)
    address = CONSENTING["email"]
    doi = eventually(lambda: mailbox(stack, address), 30, message="the DOI mail")
    confirm = next(u for u in links(doi[0]) if "/consent/confirm" in u)
    page = requests.get(confirm, timeout=30)  # what a mail scanner does: nothing changes
    assert page.status_code == 200 and '<form method="post">' in page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"  # umlauts read right
    run_schedule(stack, "nurture_sweep")
    assert len(mailbox(stack, address)) == 1  # still unconfirmed: no welcome mail
    token = parse_qs(urlsplit(confirm).query)["token"][0]
    done = requests.post(confirm, data={"token": token}, timeout=30)  # the page's button
    assert done.status_code == 200 and "Ihre Anmeldung ist bestätigt" in done.text

    run_schedule(stack, "nurture_sweep")  # queues the lead; its worker sends the welcome mail
    eventually(lambda: len(mailbox(stack, address)) >= 2, 30, message="the welcome mail")
    run_schedule(stack, "nurture_sweep")
    time.sleep(3)  # time for a (wrong) second worker run
    mails = mailbox(stack, address)
    assert len(mails) == 2, [m["subject"] for m in mails]  # DOI + welcome, once
    welcome = mails[1]
    tracked = next(u for u in links(welcome) if "/t/c/" in u)
    click = requests.get(tracked, allow_redirects=False, timeout=30)
    assert click.status_code == 302
    assert click.headers["Location"] == parse_qs(urlsplit(tracked).query)["u"][0]

    def clicked():
        data = gql(stack, "query($id: ID!) { lead(id: $id) { timeline { type } } }", {"id": lead_id})
        return [e["type"] for e in data["data"]["lead"]["timeline"]] == ["email_click"]

    eventually(clicked, 30, message="the click on the timeline")
    evil = tracked.split("?", 1)[0] + "?u=https%3A%2F%2Fevil.example.net%2F"
    refused = requests.get(evil, allow_redirects=False, timeout=30)
    assert refused.status_code == 302 and refused.headers["Location"] == "https://www.leadflow.example/"

    unsubscribe = next(u for u in links(welcome) if "/unsubscribe" in u)
    assert "Jetzt abmelden" in requests.get(unsubscribe, timeout=30).text
    one_click = requests.post(unsubscribe, data="List-Unsubscribe=One-Click", timeout=30,
                              headers={"content-type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200 and "Sie sind abgemeldet" in one_click.text
    run_schedule(stack, "nurture_sweep")
    assert len(mailbox(stack, address)) == 2


def test_junk_is_disqualified_with_reasons(stack):
    lead_id = capture(stack, {"firstName": "asdf", "lastName": "qwertz", "email": "test@test.com",
                              "phone": "123", "city": "xxx", "country": "DE"})

    def judged():
        lead = gql(stack, "query($id: ID!) { lead(id: $id) { stage quality qualityReasons { code } } }",
                   {"id": lead_id})["data"]["lead"]
        return lead if lead["stage"] == "DISQUALIFIED" else None

    lead = eventually(judged, 30, message="the junk lead disqualified")
    assert lead["quality"] == "IMPLAUSIBLE" and lead["qualityReasons"]


FIRST = ["Paul", "Lena", "Jonas", "Mia", "Felix", "Emma", "Lukas", "Hannah", "Tim", "Clara",
         "Noah", "Marie", "Elias", "Lea", "Ben", "Sophie", "Finn", "Laura", "Leon", "Nina"]
LAST = ["Kaiser", "Vogt", "Brandt", "Haas", "Engel", "Roth", "Busch", "Frank", "Horn", "Seidel",
        "Kuhn", "Lang", "Graf", "Pohl", "Sauer", "Ziegler", "Arnold", "Wolff", "Jung", "Berger"]
COMPANIES = ["Alpenholz", "Brückner", "Celsius", "Donautal", "Elbwerk", "Feldmann", "Gerlach", "Hansetrans",
             "Isarlicht", "Jadeport", "Kranich", "Lahnstahl", "Moselkorb", "Nordkap", "Odermatt", "Pfalzgut",
             "Quellwerk", "Rheinblick", "Saaletal", "Taunusbau"]

TEAM = {
    "version": 2, "timezone": "Europe/Berlin", "default_team": "t",
    "sla": {"accept_within_working_hours": 4, "working_hours": {
        "DE": {"start": "00:00", "end": "24:00", "days": [0, 1, 2, 3, 4, 5, 6], "timezone": "Europe/Berlin"}}},
    "teams": [{"id": "t", "name": "Team", "office": "DE", "managers": [{"id": "mgr", "name": "Manager"}],
               "reps": [{"id": f"rep{i}", "name": f"Rep {i}", "countries": ["DE"], "weight": w, "max_open": 500,
                         "daily_quota": 500, **({"out_of_office": [{"from": "2000-01-01", "to": "2099-12-31"}]}
                                                if i == 4 else {})}
                        for i, w in ((1, 1), (2, 1), (3, 2), (4, 1))]}],
}


def test_mqls_are_routed_by_weight_and_a_rep_sees_only_their_own(stack):
    published = gql(stack, 'mutation($d: JSON!) { publishConfig(name: "routing", document: $d) { version } }',
                    {"d": TEAM})
    assert "errors" not in published, published
    people = list(zip(FIRST, LAST, COMPANIES))
    ids = [capture(stack, {"firstName": first, "lastName": last, "company": f"{company} GmbH",
                           "email": f"{first.lower()}.{last.lower()}@{company.lower()}.de",
                           "jobTitle": "Geschäftsführer", "country": "DE", "message": "Bitte um ein Angebot"})
           for first, last, company in people]

    def owners():
        found = {}
        for lead_id in ids:
            lead = gql(stack, "query($id: ID!) { lead(id: $id) { ownerId } }", {"id": lead_id})["data"]["lead"]
            if not lead["ownerId"]:
                return None
            found[lead_id] = lead["ownerId"]
        return found

    assigned = eventually(owners, 90, interval=1, message="all MQLs assigned")
    counts = {rep: list(assigned.values()).count(rep) for rep in ("rep1", "rep2", "rep3", "rep4")}
    assert counts == {"rep1": 5, "rep2": 5, "rep3": 10, "rep4": 0}, counts

    mine = next(i for i, rep in assigned.items() if rep == "rep1")
    other = next(i for i, rep in assigned.items() if rep == "rep2")
    assert gql(stack, "query($id: ID!) { lead(id: $id) { id } }", {"id": other}, role="sales_rep",
               user="rep1") == {"data": {"lead": None}}
    refused = gql(stack, "mutation($id: ID!) { acceptLead(id: $id) { stage } }", {"id": other}, role="sales_rep",
                  user="rep1")
    assert refused["data"] is None
    accepted = gql(stack, "mutation($id: ID!) { acceptLead(id: $id) { stage } }", {"id": mine}, role="sales_rep",
                   user="rep1")
    assert accepted["data"]["acceptLead"]["stage"] == "SAL"
    assert json.dumps(accepted)  # the answer is plain JSON


def test_funnel_numbers_equal_a_recount_from_the_histories(stack, tmp_path):
    """Runs after the flows above moved leads through LEAD, MQL, SAL and the side exits."""
    import os
    import subprocess
    from datetime import date, timedelta

    from tests.e2e.test_local_stack import BIN

    start, end = (date.today() - timedelta(days=40)).isoformat(), (date.today() + timedelta(days=1)).isoformat()

    def counted() -> dict[str, int] | None:
        funnel = gql(stack, "query($f: Date!, $t: Date!) { funnel(from: $f, to: $t, grain: MONTH) "
                            "{ asOf groups { stages { stage entered } } } }", {"f": start, "t": end}, role="finance")
        entered = {s["stage"]: s["entered"] for s in funnel["data"]["funnel"]["groups"][0]["stages"]}
        return entered if entered["LEAD"] >= 22 and entered["SAL"] >= 1 else None

    # the counters follow the change stream, a moment behind the accept of the flow above
    eventually(counted, 30, interval=0.5, message="the funnel counts the accepted lead")
    # from a directory outside the checkout: the CLI finds the running stack by itself
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "AWS_ENDPOINT_URL")}
    env["LEADFLOW_STATE_DIR"] = str(stack.state_file.parent)
    result = subprocess.run([str(BIN / "leadflow"), "metrics", "reconcile", "--all"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "drift: none" in result.stdout


def test_a_bounce_from_ses_stops_mail_to_the_address(stack):
    """SES -> configuration set -> SNS topic -> track function, as template.yaml wires it: the local
    stack bounces mail to the SES mailbox simulator's bounce address along that path."""
    bouncing = {**CONSENTING, "firstName": "Bruno", "lastName": "Brandt", "company": "Brandt Metallbau GmbH",
                "phone": None, "email": "bounce@simulator.amazonses.com"}
    bouncing = {k: v for k, v in bouncing.items() if v is not None}
    lead_id = capture(stack, bouncing)
    eventually(lambda: mailbox(stack, bouncing["email"]), 30, message="the DOI mail to the simulator")
    query = "query($id: ID!) { lead(id: $id) { journey { emailStatus } } }"

    def status() -> str | None:
        journey = gql(stack, query, {"id": lead_id})["data"]["lead"]["journey"]
        return journey and journey["emailStatus"]

    assert eventually(lambda: status() == "bounced" and status(), 30, message="the bounce") == "bounced"
