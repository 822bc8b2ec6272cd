"""The routing acceptance on the local stack, as a rerunnable command (not a test: it takes minutes):
200 MQLs over four reps with weights 1 : 1 : 2 : 1, the last one out of office.

    .venv/bin/python -m tests.bench.routing_200

Starts `leadflow dev` on a free port, publishes the team through GraphQL, posts 200 plausible
quote requests through POST /leads, waits until every MQL is assigned and prints the split."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FIRST = ["Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Karla", "Leon",
         "Mila", "Noah", "Olga", "Paul", "Rosa", "Simon", "Tilda", "Uwe"]
LAST = ["Albrecht", "Bauer", "Conrad", "Dietz", "Eckert", "Fuchs", "Gerber", "Hahn", "Imhof", "Jäger", "Keller",
        "Lorenz", "Mayer", "Nagel", "Ott", "Peters"]
CITIES = [("Berlin", "10115"), ("Hamburg", "20095"), ("München", "80331"), ("Köln", "50667"), ("Leipzig", "04109")]
WEIGHTS = {"r1": 1, "r2": 1, "r3": 2, "r4": 1}  # r4 is out of office
TEAM = {
    "version": 1, "timezone": "Europe/Berlin", "default_team": "t",
    "sla": {"accept_within_working_hours": 4, "working_hours": {"DE": {
        "start": "00:00", "end": "24:00", "days": [0, 1, 2, 3, 4, 5, 6], "timezone": "Europe/Berlin"}}},
    "teams": [{"id": "t", "name": "Inside sales", "office": "DE", "managers": [{"id": "m", "name": "Manager"}],
               "reps": [{"id": rep, "name": rep.upper(), "countries": ["DE"], "weight": weight, "max_open": 1000,
                         "daily_quota": 1000,
                         **({"out_of_office": [{"from": "2000-01-01", "to": "2099-12-31"}]} if rep == "r4" else {})}
                        for rep, weight in WEIGHTS.items()]}],
}


def main() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    state = Path(tempfile.mkdtemp()) / "stack.json"
    dev = subprocess.Popen([str(BIN / "leadflow"), "dev", "--port", str(port), "--no-demo", "--state-file",
                            str(state)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(base)
        token = subprocess.run([str(BIN / "leadflow"), "token", "--role", "admin"], cwd=REPO, check=True,
                               capture_output=True, text=True, env=os.environ).stdout.strip()
        gql = _client(base, token)
        gql('mutation($d: JSON!) { publishConfig(name: "routing", document: $d) { version } }', {"d": TEAM})
        started = time.monotonic()
        ids = [_post(base, i, first, last) for i, (first, last) in
               enumerate(itertools.islice(itertools.product(FIRST, LAST), 200))]
        print(f"posted 200 leads in {time.monotonic() - started:.1f} s", file=sys.stderr)
        owners: dict[str, str] = {}
        while len(owners) < len(ids) and time.monotonic() - started < 900:
            time.sleep(5)
            for lead_id in ids:
                if lead_id not in owners:
                    lead = gql("query($id: ID!) { lead(id: $id) { ownerId } }", {"id": lead_id})["data"]["lead"]
                    if lead["ownerId"]:
                        owners[lead_id] = lead["ownerId"]
            print(f"  {time.monotonic() - started:.0f} s: {len(owners)} assigned", file=sys.stderr)
        counts = Counter(owners.values())
        available = {rep: w for rep, w in WEIGHTS.items() if rep != "r4"}
        total_weight = sum(available.values())
        print(f"{len(owners)} of {len(ids)} MQLs assigned in {time.monotonic() - started:.0f} s")
        for rep, weight in WEIGHTS.items():
            expected = len(owners) * weight / total_weight if rep in available else 0
            print(f"  {rep} weight {weight}: {counts.get(rep, 0)} (expected {expected:.0f})")
        return 0 if len(owners) == len(ids) and counts.get("r4", 0) == 0 else 1
    finally:
        dev.send_signal(signal.SIGINT)
        dev.wait(30)


def _wait_ready(base: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/dev/health", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("leadflow dev did not start")


def _client(base: str, token: str):
    def gql(query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(base + "/graphql", data=json.dumps({"query": query, "variables": variables
                                                                               or {}}).encode(),
                                         headers={"content-type": "application/json",
                                                  "authorization": f"Bearer {token}"})
        answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
        if answer.get("errors"):
            raise SystemExit(answer["errors"][0]["message"])
        return answer
    return gql


def _post(base: str, i: int, first: str, last: str) -> str:
    city, postal_code = CITIES[i % len(CITIES)]
    ascii_last = last.lower().replace("ä", "ae")
    body = {"firstName": first, "lastName": last, "email": f"{first.lower()}.{ascii_last}@{ascii_last}-{i}.de",
            "company": f"{last} {['Logistik', 'Bau', 'Technik', 'Handel'][i % 4]} GmbH", "jobTitle": "Geschäftsführer",
            "city": city, "postalCode": postal_code, "country": "DE", "message": "Bitte senden Sie uns ein Angebot."}
    request = urllib.request.Request(base + "/leads", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())["id"]


if __name__ == "__main__":
    sys.exit(main())
