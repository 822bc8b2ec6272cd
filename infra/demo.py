"""Demo data and the start-up banner of `leadflow dev`.

Demo leads go in through the stack's own `POST /leads` (so they take the same
path as a real web form: capture -> intake queue -> qualify ...). Two of them
are deliberately dubious, to show the plausibility checks at work.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date, timedelta
from typing import Any

from infra.auth import ROLES

_CONSENT = {"purposes": ["email_marketing"], "textVersion": "v1"}
SAMPLE_LEAD = {"firstName": "Anna", "lastName": "Schmidt", "email": "anna.schmidt@schmidt-logistik.de",
               "country": "DE", "consent": _CONSENT}

DEMO_LEADS: list[dict[str, Any]] = [
    {"firstName": "Anna", "lastName": "Schmidt", "email": "anna.schmidt@schmidt-logistik.de",
     "phone": "+49 89 2180 4417", "company": "Schmidt Logistik GmbH", "jobTitle": "Leiterin Einkauf",
     "street": "Leopoldstraße 1", "postalCode": "80802", "city": "München", "country": "DE",
     "interests": ["warehouse"], "source": "website", "campaign": "spring-2026", "formId": "contact",
     "consent": _CONSENT},
    {"firstName": "Jörg", "lastName": "Müller", "email": "j.mueller@mueller-maschinenbau.de",
     "phone": "+49 711 987650", "company": "Müller Maschinenbau AG", "jobTitle": "Geschäftsführer",
     "postalCode": "70173", "city": "Stuttgart", "country": "DE", "interests": ["automation"],
     "source": "trade-fair", "campaign": "hannover-messe", "formId": "booth-scan",
     "message": "Bitte senden Sie uns ein Angebot für zwei Standorte.",
     "consent": {"purposes": ["email_marketing", "phone"], "textVersion": "v1"}},
    {"firstName": "Lena", "lastName": "Hoffmann", "email": "lena.hoffmann@gmx.de",
     "postalCode": "20095", "city": "Hamburg", "country": "DE", "interests": ["workshops"],
     "source": "newsletter", "formId": "whitepaper", "message": "Bitte senden Sie mir das Whitepaper.",
     "consent": _CONSENT},
    {"firstName": "Klaus", "lastName": "Becker", "email": "klaus.becker@web.de", "phone": "+49 221 555123",
     "street": "Domkloster 4", "postalCode": "50667", "city": "Köln", "country": "DE",
     "source": "print", "campaign": "mailing-q2", "formId": "reply-card",
     "consent": {"purposes": ["post", "phone"], "textVersion": "v1"}},
    {"firstName": "Sabine", "lastName": "Gruber", "email": "s.gruber@alpenholz.at",
     "phone": "+43 1 5324400", "company": "Alpenholz GmbH", "jobTitle": "Head of Operations",
     "postalCode": "1010", "city": "Wien", "country": "AT", "interests": ["warehouse", "automation"],
     "source": "website", "campaign": "spring-2026", "formId": "demo-request",
     "message": "Wir bitten um ein Angebot für die Lagerautomatisierung.", "consent": _CONSENT},
    {"firstName": "Luca", "lastName": "Meier", "email": "luca.meier@bluewave.ch",
     "company": "Bluewave Solutions AG", "jobTitle": "CTO", "postalCode": "8001", "city": "Zürich",
     "country": "CH", "interests": ["automation"], "source": "linkedin", "campaign": "cto-series",
     "formId": "webinar", "message": "Could you send us pricing for 50 users?", "consent": _CONSENT},
    {"firstName": "Emma", "lastName": "Johnson", "email": "emma.johnson@northbridge.co.uk",
     "phone": "+44 20 3318 0958", "company": "Northbridge Retail Ltd", "jobTitle": "Procurement Manager",
     "postalCode": "EC1A 1BB", "city": "London", "country": "GB", "interests": ["warehouse"],
     "source": "website", "formId": "contact", "consent": _CONSENT},
    {"firstName": "Pierre", "lastName": "Dubois", "email": "p.dubois@atelier-lumiere.fr",
     "company": "Atelier Lumière SARL", "jobTitle": "Directeur commercial", "postalCode": "69002",
     "city": "Lyon", "country": "FR", "source": "partner", "campaign": "reseller-fr", "formId": "contact",
     "consent": _CONSENT},
    {"firstName": "Sofia", "lastName": "Rossi", "email": "sofia.rossi@gmail.com", "city": "Milano",
     "postalCode": "20121", "country": "IT", "interests": ["workshops"], "source": "instagram",
     "campaign": "summer-school", "formId": "newsletter", "consent": _CONSENT},
    {"firstName": "Piotr", "lastName": "Nowak", "email": "piotr.nowak@vistula-trans.pl",
     "phone": "+48 22 628 31 94", "company": "Vistula Trans Sp. z o.o.", "jobTitle": "Logistics Director",
     "postalCode": "00-001", "city": "Warszawa", "country": "PL", "interests": ["warehouse"],
     "source": "trade-fair", "campaign": "transport-logistic", "formId": "booth-scan",
     "message": "Please send a quote for a pilot project.", "consent": _CONSENT},
    # Dubious on purpose: a placeholder name and a city that is not in the stated country.
    {"firstName": "Max", "lastName": "Mustermann", "email": "max@mustermann.de", "city": "Musterstadt",
     "postalCode": "12345", "country": "DE", "source": "website", "formId": "contact", "consent": _CONSENT},
    {"firstName": "Tom", "lastName": "Baker", "email": "tom.baker@outlook.com", "city": "London",
     "postalCode": "10115", "country": "DE", "source": "website", "formId": "contact", "consent": _CONSENT},
    # For the review queue (marketing decides): German companies, British phone numbers.
    {"firstName": "Olaf", "lastName": "Nordwind", "email": "olaf@nordwind-handel.de", "phone": "+44 20 3318 0951",
     "company": "Nordwind Handel GmbH", "jobTitle": "Einkaufsleiter", "postalCode": "28195", "city": "Bremen",
     "country": "DE", "source": "website", "formId": "contact", "consent": _CONSENT},
    {"firstName": "Ute", "lastName": "Sommer", "email": "ute.sommer@sommer-moebel.de", "phone": "+44 20 3318 0952",
     "company": "Sommer Möbel KG", "postalCode": "33602", "city": "Bielefeld", "country": "DE",
     "source": "website", "formId": "contact", "consent": _CONSENT},
    {"firstName": "Ali", "lastName": "Demir", "email": "ali.demir@demir-logistik.de", "phone": "+44 20 3318 0953",
     "company": "Demir Logistik GmbH", "postalCode": "44135", "city": "Dortmund", "country": "DE",
     "source": "website", "formId": "contact", "consent": _CONSENT},
    # Typos the checks suggest corrections for (name casing, city spelling).
    {"firstName": "jana", "lastName": "wolff", "email": "jana.wolff@wolff-spedition.de",
     "company": "Wolff Spedition GmbH", "postalCode": "20095", "city": "Hambrug", "country": "DE",
     "source": "website", "formId": "contact", "message": "Infos zu Lagerlogistik", "consent": _CONSENT},
    {"firstName": "Felix", "lastName": "Brandt", "email": "felix.brandt@brandt-kuehlhaus.de",
     "company": "Brandt Kühlhaus GmbH", "postalCode": "80331", "city": "Müncehn", "country": "DE",
     "source": "website", "formId": "contact", "consent": _CONSENT},
    # Klaus Becker again, from his work address: the same phone is a possible duplicate for review.
    {"firstName": "Klaus", "lastName": "Becker", "email": "k.becker@becker-haustechnik.de", "phone": "+49 221 555123",
     "company": "Becker Haustechnik", "postalCode": "50667", "city": "Köln", "country": "DE",
     "source": "website", "formId": "contact", "consent": _CONSENT},
]


def post_demo_leads(base_url: str, leads: list[dict[str, Any]] | None = None,
                    stop: Any = None) -> list[dict[str, Any]]:
    """POST each demo lead; returns [{name, status, id | error}]."""
    results = []
    for number, lead in enumerate(leads if leads is not None else DEMO_LEADS, start=1):
        if stop is not None and stop.is_set():
            break
        body = json.dumps({**lead, "idempotencyKey": f"demo-lead-{number:04d}"}).encode()
        request = urllib.request.Request(base_url + "/leads", data=body, method="POST",
                                         headers={"content-type": "application/json"})
        name = f"{lead.get('firstName', '')} {lead.get('lastName', '')}".strip()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        except OSError as exc:
            results.append({"name": name, "status": 0, "error": str(exc)})
            continue
        try:
            data = json.loads(payload or b"null")
        except ValueError:
            data = None
        entry: dict[str, Any] = {"name": name, "status": status}
        if status == 202 and isinstance(data, dict):
            entry["id"] = data.get("id")
        else:
            entry["error"] = data if data is not None else payload[:200].decode(errors="replace")
        results.append(entry)
        if status == 501:  # capture not built yet: no point in posting the rest
            break
    return results


def summarize(results: list[dict[str, Any]]) -> str:
    accepted = [r for r in results if r["status"] == 202]
    if not results:
        return "Demo data: none posted."
    if results[0]["status"] == 501:
        return "Demo data: skipped (POST /leads is not implemented yet)."
    line = f"Demo data: {len(accepted)}/{len(results)} leads accepted by POST /leads"
    failed = [r for r in results if r["status"] != 202]
    if failed:
        line += "; refused: " + ", ".join(f"{r['name']} ({r['status']})" for r in failed)
    return line


def banner(stack: Any, demo_results: list[dict[str, Any]] | None = None) -> str:
    """The start-up text: URLs, routes, queues, schedules, a bearer token per role, example curls."""
    wiring = stack.wiring
    lines = [
        "",
        (f"Leadflow local stack (template.yaml, Stage={stack.parameters.get('Stage')}) "
         f"up in {stack.startup_seconds or 0:.1f} s"),
        f"  Base URL      {stack.base_url}",
        f"  GraphQL       {stack.graphql_url}   (GraphiQL: open in a browser; POST needs a bearer token)",
        (f"  AWS emulator  {stack.moto_endpoint}   (moto; e.g. aws --endpoint-url {stack.moto_endpoint} "
         "dynamodb list-tables)"),
        "",
        "Routes (from template.yaml)",
    ]
    for route in stack.gateway.table.routes:
        auth = "  [JWT]" if route.authorizer else ""
        lines.append(f"  {route.method:<7} {route.path:<16} -> {route.function}{auth}")
    lines.append("Queues")
    for sub in wiring.subscriptions:
        policy = wiring.resources.get(sub.queue, {}).get("Properties", {}).get("RedrivePolicy") or {}
        dlq = policy.get("deadLetterTargetArn", {}).get("Fn::GetAtt", ["?"])[0] if policy else None
        redrive = f", DLQ {dlq} after {policy.get('maxReceiveCount')} receives" if dlq else ""
        lines.append(f"  {sub.queue} -> {sub.function} (batch {sub.batch_size}{redrive})")
    speed = f" at speed x{stack.speed:g}" if stack.speed != 1 else ""
    lines.append(f"Schedules{speed} (run one now: curl -X POST {stack.base_url}/dev/schedules/NAME)")
    for schedule in wiring.schedules:
        state = "" if stack.run_schedules else "  (ticker off)"
        lines.append(f"  {schedule.name:<34} {schedule.expression:<16} -> {schedule.function}{state}")
    lines.append("Dev routes    " + ", ".join(f"{r.method} {r.path}" for r in stack.gateway.dev_routes))
    if demo_results is not None:
        lines.append(summarize(demo_results))
    lines += ["", "Bearer tokens (30 days; more: .venv/bin/leadflow token --role ROLE [--user ID])"]
    from leadflow.services.routing import team_members

    tokens = {role: stack.token(role) for role in ROLES}
    for role, token in tokens.items():
        members = team_members(role)  # reps and managers: real ids of the routing rules
        label = f"{role} ({members[0]})" if members else role
        lines.append(f"  {label:<30} {token}")
    lead_id = next((r.get("id") for r in demo_results or [] if r.get("id")), None) or "LEAD_ID"
    query = json.dumps({"query": "query($id: ID!) { lead(id: $id) { id stage quality history { __typename } } }",
                        "variables": {"id": lead_id}})
    lines += [
        "",
        "Try",
        f"  curl -s -X POST {stack.base_url}/leads -H 'content-type: application/json' \\",
        f"    -d '{json.dumps(SAMPLE_LEAD, ensure_ascii=False)}'",
        f"  TOKEN={tokens['admin']}",
        f"  curl -s {stack.graphql_url} -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/json' \\",
        f"    -d '{query}'",
        "",
        "Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ a small funnel for the cockpit

def _graphql(base_url: str, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(base_url + "/graphql", data=body, method="POST", headers={
        "content-type": "application/json", "authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    if answer.get("errors"):
        raise RuntimeError(answer["errors"][0]["message"])
    return answer


def advance_demo_funnel(stack: Any, results: list[dict[str, Any]], stop: Any = None,
                        wait_seconds: float = 30.0) -> list[str]:
    """Move the demo MQLs on as their reps would: accept, qualify, open an opportunity, win one,
    lose one, recycle one; the manager assigns one from the team queue; finance records campaign
    costs. Everything goes through GraphQL with each person's own token. Returns what was done."""
    import time

    base, admin = stack.base_url, stack.token("admin")
    ids = [r["id"] for r in results if r.get("id")]
    lead_query = "query($id: ID!) { lead(id: $id) { id stage ownerId } }"
    deadline = time.monotonic() + wait_seconds
    mqls: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        leads = [_graphql(base, admin, lead_query, {"id": i})["data"]["lead"] for i in ids]
        mqls = {lead["id"]: lead for lead in leads if lead and lead["stage"] == "MQL"}
        if len(mqls) >= 4 and sum(1 for lead in mqls.values() if lead["ownerId"]) >= 3:
            break
        time.sleep(1.0)
    done: list[str] = []
    soon = (date.today() + timedelta(days=90)).isoformat()  # a close date may not lie in the past
    steps = [
        ("won", [("acceptLead", {}), ("qualifyLead", {"budget": "60k", "need": "WMS", "timeline": "Q1"}),
                 ("convertToOpportunity", {"amount": 48000, "currency": "EUR", "expectedClose": soon}),
                 ("closeOpportunity", {"won": True, "reason": "best fit"})]),
        ("lost", [("acceptLead", {}), ("qualifyLead", {"budget": "20k"}),
                  ("convertToOpportunity", {"amount": 18000, "currency": "EUR", "expectedClose": soon}),
                  ("closeOpportunity", {"won": False, "reason": "price: competitor cheaper"})]),
        ("recycled", [("rejectLead", {"reason": "no budget: next year", "recycle": True})]),
    ]
    owned = [lead for lead in mqls.values() if lead["ownerId"]]
    for (label, actions), lead in zip(steps, owned):
        token = stack.token("sales_rep", lead["ownerId"])
        for mutation, args in actions:
            arguments = ", ".join(f"{k}: ${k}" for k in args)
            types = {"amount": "Float!", "won": "Boolean!", "recycle": "Boolean", "expectedClose": "Date!",
                     "currency": "String!", "reason": "String!"}
            declared = "".join(f", ${k}: {types.get(k, 'String')}" for k in args)
            query = (f"mutation($id: ID!{declared}) {{ {mutation}(id: $id{', ' if args else ''}{arguments}) "
                     "{ stage } }")
            _graphql(base, token, query, {"id": lead["id"], **args})
        done.append(f"{label}: {lead['id']}")
    finance = stack.token("finance")
    for campaign, amount in (("spring-2026", 2500.0), ("hannover-messe", 12000.0), ("reseller-fr", 800.0)):
        _graphql(base, finance, "mutation($c: String!, $p: String!, $a: Float!) { recordCampaignCost("
                 "campaign: $c, period: $p, amount: $a, currency: \"EUR\") { campaign } }",
                 {"c": campaign, "p": time.strftime("%Y-%m"), "a": amount})
    done.append("campaign costs recorded")
    return done
