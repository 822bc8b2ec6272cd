"""Link-signing and hash keys come from the SSM SecureString the template names, are read once
per cold start, and rotate without breaking a link already in a person's mailbox."""

from __future__ import annotations

import json

import boto3
import pytest

from leadflow.adapters import keys
from leadflow.domain.errors import DomainError
from tests.integration.test_qualification import GENUINE, capture, drain_intake

OLD = "old-link-key-old-link-key-old-link-key-0"
NEW = "new-link-key-new-link-key-new-link-key-1"
HASH = "hash-key-hash-key-hash-key-hash-key-0000"


def store_keys(link_keys: list[str]) -> None:
    boto3.client("ssm").put_parameter(Name="/leadflow/keys", Type="SecureString", Overwrite=True,
                                      Value=json.dumps({"link_keys": link_keys, "hash_key": HASH}))
    keys.reset()  # a new cold start


def test_the_keys_are_read_from_the_secure_string_once_per_cold_start(aws, monkeypatch):
    from leadflow.adapters import aws as aws_clients

    calls = []
    ssm = aws_clients.client("ssm")
    original = ssm.get_parameter

    def counting(**request):
        calls.append(request)
        return original(**request)

    monkeypatch.setattr(ssm, "get_parameter", counting)
    store_keys([NEW])
    assert keys.keys().signing_key == NEW.encode()
    assert keys.hash_key() == HASH.encode()
    keys.keys()
    assert calls == [{"Name": "/leadflow/keys", "WithDecryption": True}]


def test_a_rotation_keeps_old_links_working_until_the_old_key_is_dropped(aws):
    from leadflow.services import nurture

    lead_id = capture(GENUINE)
    drain_intake(aws)
    store_keys([OLD])
    link = nurture.unsubscribe_url(lead_id, ttl_days=400)
    token = link.split("token=", 1)[1]

    store_keys([NEW, OLD])  # rotated: new links are signed with NEW, OLD still verifies
    assert nurture.unsubscribe_url(lead_id, ttl_days=400) != link
    assert nurture.unsubscribe(token, via="unsubscribe_link") == lead_id

    store_keys([NEW])  # the old key retired: its links stop working
    with pytest.raises(DomainError):
        nurture.unsubscribe(token, via="unsubscribe_link")


def test_short_or_missing_keys_are_refused():
    with pytest.raises(RuntimeError, match="at least 32"):
        keys.parse(json.dumps({"link_keys": ["short"], "hash_key": HASH}))
    with pytest.raises(RuntimeError):
        keys.parse(json.dumps({"hash_key": HASH}))
