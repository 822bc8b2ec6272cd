"""Every documented GraphQL operation (graphql/operations/*.graphql) runs against the demo data of
`leadflow dev` as shipped, as the role it is meant for: data, no errors. Mutations run in the order a
team would: the rep works the open MQL, the manager hands on another, marketing clears the review
queue, an admin publishes a rule set."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
import yaml

from graphql import OperationDefinitionNode, parse, print_ast
from tests.e2e.test_local_stack import REPO, DevProcess, eventually
from tests.e2e.test_product_flows import capture, gql, run_schedule

pytestmark = pytest.mark.e2e

OPERATIONS = REPO / "graphql" / "operations"


def documented() -> dict[str, str]:
    """Each operation of the files on its own (name -> text)."""
    out: dict[str, str] = {}
    for path in sorted(OPERATIONS.glob("*.graphql")):
        for node in parse(Path(path).read_text()).definitions:
            assert isinstance(node, OperationDefinitionNode) and node.name, f"{path.name}: unnamed operation"
            assert node.name.value not in out, f"{node.name.value} is documented twice"
            out[node.name.value] = print_ast(node)
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    process = DevProcess(tmp_path_factory.mktemp("demo"), "demo", demo=True)
    try:
        process.wait_for_demo()
        yield process
    finally:
        if process.proc.poll() is None:
            process.interrupt()


def test_every_documented_operation_runs_against_the_demo_data(demo):
    operations, ran = documented(), set()

    def run(name: str, variables: dict | None = None, role: str = "admin", user: str | None = None) -> dict:
        answer = gql(demo, operations[name], variables, role, user)
        assert not answer.get("errors"), (name, answer)
        data = answer.get("data") or {}
        assert data and all(value is not None for value in data.values()), (name, answer)
        ran.add(name)
        return data

    def leads(stage: str) -> list[dict]:
        answer = gql(demo, "query($s: Stage!) { leads(stage: $s, first: 50) { edges { node { id ownerId } } } }",
                     {"s": stage})
        return [edge["node"] for edge in answer["data"]["leads"]["edges"]]

    today = date.today()
    period = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}

    # finance: the demo's period has data
    report = run("Funnel", period, role="finance")
    assert sum(stage["entered"] for group in report["funnel"]["groups"] for stage in group["stages"]
               if stage["stage"] == "LEAD") >= 13
    assert report["cohorts"]["cohorts"] and report["slaCompliance"]["groups"]
    assert report["campaignPerformance"]["campaigns"] and report["metricsCsv"].count("\n") > 1
    run("RecordCost", {"campaign": "spring-2026", "period": today.isoformat()[:7], "amount": 4200.0}, role="finance")
    customer = leads("CUSTOMER")[0]["id"]
    run("Lead", {"id": customer})
    run("SetCreditworthiness", {"id": customer, "rating": "good"}, role="finance")

    # a rep works their MQL to a won deal
    mqls = leads("MQL")
    mine = next(lead for lead in mqls if lead["ownerId"])
    rep = mine["ownerId"]
    assert run("MyLeads", {"stage": "MQL"}, role="sales_rep", user=rep)["myLeads"]["edges"]
    run("Accept", {"id": mine["id"]}, role="sales_rep", user=rep)
    run("Qualify", {"id": mine["id"], "budget": "40k", "need": "WMS", "timeline": "Q2"}, role="sales_rep", user=rep)
    run("Convert", {"id": mine["id"], "amount": 30000.0, "currency": "EUR",
                    "close": (today + timedelta(days=60)).isoformat()}, role="sales_rep", user=rep)
    run("Close", {"id": mine["id"], "won": True, "amount": 30000.0}, role="sales_rep", user=rep)
    deal = run("Deal", {"id": mine["id"]}, role="sales_rep", user=rep)["lead"]
    assert deal["opportunity"]["amount"] == 30000.0 and deal["qualification"]["budget"] == "40k"

    # the rep's workspace: what the customer said, a follow-up, the mails they get (docs/sales.md)
    call = run("LogActivity", {"id": mine["id"], "activity": {"type": "call", "outcome": "connected",
                                                               "durationMinutes": 15, "nextStep": "send references",
                                                               "text": "Happy with the offer"}},
               role="sales_rep", user=rep)["logActivity"]
    run("UpdateActivity", {"id": mine["id"], "activityId": call["id"], "patch": {"text": "Signed"}},
        role="sales_rep", user=rep)
    assert run("Activities", {"id": mine["id"]}, role="sales_rep", user=rep)["activities"][0]["text"] == "Signed"
    run("DeleteActivity", {"id": mine["id"], "activityId": call["id"]}, role="sales_rep", user=rep)
    run("CreateTask", {"id": mine["id"], "title": "Kick-off call", "dueAt": f"{today + timedelta(days=7)}T10:00:00Z"},
        role="sales_rep", user=rep)
    assert [t["title"] for t in run("MyTasks", role="sales_rep", user=rep)["myTasks"]] == ["Kick-off call"]
    run("MyNotificationSettings", role="sales_rep", user=rep)
    run("SetNotification", {"reason": "sla_warning", "enabled": True}, role="sales_rep", user=rep)
    eventually(lambda: [m for m in requests.get(demo.base_url + "/dev/mail.json", timeout=30).json()
                        if m["to"] == [f"{rep}@example.com"] and m["subject"].startswith("New lead for you")
                        and mine["id"] in m["text"]],  # its link opens the lead
               60, interval=1, message="the assignment mail in the local mailbox")

    # finding leads: the rep their own, finance a customer by stage (ids and company names only); the directory
    found = run("SearchLeads", {"sort": {"by": "SCORE"}}, role="sales_rep", user=rep)["searchLeads"]["edges"]
    assert mine["id"] in [edge["id"] for edge in found] and {e["node"]["ownerId"] for e in found} == {rep}
    rated = run("SearchLeads", {"filter": {"stages": ["CUSTOMER"]}}, role="finance")["searchLeads"]["edges"]
    assert customer in [edge["id"] for edge in rated] and all(edge["node"] is None for edge in rated)
    assert run("Team", role="finance")["team"]["reps"]

    # the manager hands another MQL to a rep, who turns it down for now
    run("TeamQueue", role="sales_manager", user="katrin.vogel")
    run("Fairness", period, role="sales_manager", user="katrin.vogel")
    other = next(lead for lead in leads("MQL") if lead["id"] != mine["id"])
    to = "mehmet.yilmaz" if other["ownerId"] != "mehmet.yilmaz" else "sophie.schulz"
    run("Reassign", {"id": other["id"], "rep": to, "reason": "speaks Polish"}, role="sales_manager",
        user="katrin.vogel")
    run("Reject", {"id": other["id"], "reason": "no budget this year", "recycle": True}, role="sales_rep", user=to)

    # marketing clears the review queue
    queue = [edge["node"] for edge in run("ReviewQueue", role="marketing")["reviewQueue"]["edges"]]
    twin = next(node for node in queue if node["duplicateOf"])
    assert run("MergeDuplicate", {"id": twin["id"]}, role="marketing")["mergeDuplicate"]["mergedInto"]
    typos = [node for node in queue if any(s["field"] == "city" for s in node["suggestions"])]
    assert len(typos) >= 2, queue
    fixed = run("ApplySuggestions", {"id": typos[0]["id"]}, role="marketing")["correctLead"]
    assert fixed["city"] in ("Hamburg", "München")
    city = next(s["id"] for s in typos[1]["suggestions"] if s["field"] == "city")
    run("ApplySomeSuggestions", {"id": typos[1]["id"], "ids": [city]}, role="marketing")
    rest = [node for node in queue if node is not twin and node not in typos]
    assert len(rest) >= 3, queue
    fix, keep, drop = (node["id"] for node in rest[:3])
    run("CorrectLead", {"id": fix, "patch": {"phone": "+49 421 3018841"}}, role="marketing")
    run("ReleaseLead", {"id": keep}, role="marketing")
    run("RejectLead", {"id": drop, "reason": "fake company"}, role="marketing")

    # an admin publishes a journey that writes a letter at once; marketing gets the task
    run("ConfigVersions", {"name": "journeys"})  # lists the shipped version 1 once point 9 is in
    book = yaml.safe_load((REPO / "config" / "journeys.yaml").read_text())
    book["journeys"] = [{"id": "letters", "name": "Letters", "default": True, "entry": {},
                         "steps": [{"id": "letter", "delay": "PT0H", "channel": ["postal"],
                                    "content": "warehouse/checklist", "after": "entry"}]}]
    run("Publish", {"name": "journeys", "doc": book, "comment": "letters right away"})
    writer = capture(demo, {"firstName": "Hanna", "lastName": "Kopp", "email": "hanna.kopp@kopp-lager.de",
                            "company": "Kopp Lager GmbH", "street": "Hafenstraße 3", "postalCode": "28217",
                            "city": "Bremen", "country": "DE",
                            "consent": {"purposes": ["post"], "textVersion": "v1"}})

    def letter_task() -> list[dict]:
        run_schedule(demo, "nurture_sweep")
        answer = gql(demo, operations["Tasks"], role="marketing")
        return [t for t in (answer.get("data") or {}).get("tasks") or [] if t["leadId"] == writer]

    task = eventually(letter_task, 60, interval=1, message="the letter task")[0]
    run("Tasks", role="marketing")
    run("CompleteTask", {"id": task["id"], "outcome": "sent"}, role="marketing")
    run("WithdrawConsent", {"id": writer, "note": "asked by phone"}, role="marketing")

    assert ran == set(operations), f"not run: {sorted(set(operations) - ran)}"


def test_the_local_mailbox_lists_each_recipient_once(demo):
    mails = requests.get(demo.base_url + "/dev/mail.json", timeout=30).json()
    assert mails and all(len(mail["to"]) == len(set(mail["to"])) == 1 for mail in mails), mails[0]["to"]
    page = requests.get(demo.base_url + "/dev/mail", timeout=30).text
    first = mails[0]["to"][0]
    assert f"to {first}<" in page and f"{first}, {first}" not in page


def test_the_dev_log_is_one_readable_format(demo):
    lines = [line for line in demo.log.read_text(errors="replace").splitlines() if line.strip()]
    assert not [line for line in lines if line.lstrip().startswith("{")], "JSON lines in the dev log"
    assert any(" INFO  CaptureFunction: lead captured lead_id=" in line for line in lines)
