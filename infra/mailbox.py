"""The local mailbox: what the emulated SES sent, at /dev/mail, with working links
(DOI confirmation, tracked links, unsubscribe) so a person can click through a journey."""

from __future__ import annotations

import html
from typing import Any

from infra.gateway import HttpRequest, HttpResponse
from leadflow.adapters.outbox import sent_mails

_STYLE = ("body{font-family:sans-serif;margin:2em;max-width:60em}li{margin:.3em 0}"
          ".meta{color:#555;font-size:.9em}iframe{width:100%;height:40em;border:1px solid #ccc}")


def mailbox_page(request: HttpRequest, params: dict[str, str]) -> HttpResponse:
    mails = sent_mails()
    items = "".join(
        f'<li><a href="/dev/mail/{i}">{html.escape(m.subject)}</a> '
        f'<span class="meta">to {html.escape(", ".join(m.to))}</span></li>'
        for i, m in reversed(list(enumerate(mails))))
    body = (f"<!doctype html><meta charset=utf-8><title>Leadflow mailbox</title><style>{_STYLE}</style>"
            f"<h1>Local mailbox</h1><p class=meta>{len(mails)} messages sent through the emulated SES, "
            f"newest first. <a href='/dev/mail.json'>JSON</a></p><ul>{items}</ul>")
    return HttpResponse(200, [("content-type", "text/html; charset=utf-8")], body.encode())


def mail_page(request: HttpRequest, params: dict[str, str]) -> HttpResponse:
    mails = sent_mails()
    try:
        mail = mails[int(params["n"])]
    except (ValueError, IndexError, KeyError):
        return HttpResponse.json(404, {"message": "no such mail"})
    headers = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in mail.headers.items())
    body = (f"<!doctype html><meta charset=utf-8><title>{html.escape(mail.subject)}</title><style>{_STYLE}</style>"
            f"<p><a href='/dev/mail'>&larr; mailbox</a></p><h1>{html.escape(mail.subject)}</h1>"
            f"<details><summary>headers</summary><ul>{headers}</ul></details>"
            "<iframe sandbox='allow-top-navigation-by-user-activation allow-popups' "
            f"srcdoc=\"{html.escape(mail.html)}\"></iframe>"
            f"<h2>Text part</h2><pre>{html.escape(mail.text)}</pre>")
    return HttpResponse(200, [("content-type", "text/html; charset=utf-8")], body.encode())


def mailbox_json(request: HttpRequest, params: dict[str, str]) -> Any:
    return [{"n": i, "to": m.to, "subject": m.subject, "html": m.html, "text": m.text, "headers": m.headers}
            for i, m in enumerate(sent_mails())]
