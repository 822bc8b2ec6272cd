"""Field-independent junk: markup, SQL and template injection, control characters,
links, absurd lengths, and contact-form spam in the message."""

from __future__ import annotations

import re

from .findings import Findings
from .text import fold

MARKUP = re.compile(
    r"<\s*/?\s*(script|iframe|img|svg|a|body|html|div|span|style|object|embed|form|input|meta|link|base|"
    r"video|audio|details|marquee|frame|frameset|applet)\b[^>]*>?"
    r"|javascript\s*:|vbscript\s*:|\bon(error|load|click|mouseover|focus|start)\s*="
    r"|&#x?[0-9a-f]{2,};|%3c\s*/?\s*(script|img|svg|iframe)",
    re.IGNORECASE,
)
SQL = re.compile(
    r"""('|")\s*(or|and)\s+('|")?\w*('|")?\s*(=|<|>)"""
    r"|\bunion\s+(all\s+)?select\b|\b(drop|alter|truncate)\s+(table|database)\b"
    r"|\binsert\s+into\b.{0,200}\bvalues\b|\bdelete\s+from\s+\w+\s+where\b|\bupdate\s+\w+\s+set\s+\w+\s*="
    r"|;\s*--|'\s*--|\bor\s+1\s*=\s*1\b|\bxp_cmdshell\b|\bwaitfor\s+delay\b|\bsleep\s*\(\s*\d+\s*\)"
    r"|\bbenchmark\s*\(|\binformation_schema\b|\bselect\s+\*\s+from\b|'\s*;\s*(drop|select|delete|insert|update)\b",
    re.IGNORECASE | re.DOTALL,
)
CODE_INJECTION = re.compile(
    r"\{\{.{0,100}?\}\}|\$\{.{0,100}?\}|<%.{0,100}?%>|<\?php|\bjndi\s*:|\.\./\.\./|\.\.\\\.\.\\"
    r"|\beval\s*\(|\bdocument\.cookie\b|\balert\s*\(|\bprompt\s*\(",
    re.IGNORECASE | re.DOTALL,
)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
URL_IN_TEXT = re.compile(r"\b(https?|ftp)://\S+|\bwww\.[\w-]+\.\S+", re.IGNORECASE)
# A bare domain in a name field ("Visit bit.ly/x", "best-seo.com"): spam, never a name.
DOMAIN_LIKE = re.compile(
    r"\b[\w-]{2,}\.(com|net|org|info|biz|ru|cn|xyz|top|io|co|me|ly|online|site|club|shop|link|app|us|tk|ml|"
    r"ga|cf|gq|pw|cc|ws|click|live|store|de|uk|su|vip|icu|buzz)\b(/\S*)?",
    re.IGNORECASE,
)
URL_SCHEME = re.compile(r"\b(https?|ftp)://", re.IGNORECASE)

# Fields a person types free text into, checked for links; the company may be a domain (Booking.com).
NAME_LIKE_FIELDS = ("firstName", "lastName", "city", "jobTitle", "street", "postalCode")


def check_injection(field: str, value: str, findings: Findings) -> None:
    if MARKUP.search(value):
        findings.add("markup", field, "contains HTML or script markup")
    if SQL.search(value):
        findings.add("sql_injection", field, "contains an SQL injection pattern")
    if CODE_INJECTION.search(value):
        findings.add("code_injection", field, "contains template or code injection")
    if CONTROL_CHARACTERS.search(value):
        findings.add("control_characters", field, "contains control characters")


def check_links(field: str, value: str, findings: Findings) -> None:
    if field in NAME_LIKE_FIELDS:
        if URL_IN_TEXT.search(value) or DOMAIN_LIKE.search(value):
            findings.add("url_in_field", field, "a link or web address where a name belongs")
    elif field == "company" and URL_SCHEME.search(value):
        findings.add("url_in_field", field, "a link where the company name belongs")


def check_length(field: str, value: str, findings: Findings) -> None:
    limits = findings.rules.limits.get(field)
    if not limits:
        return
    review_at, reject_at = limits
    if len(value) > reject_at:
        findings.add("absurd_length", field, f"{len(value)} characters; no real value is longer than {reject_at}")
    elif len(value) > review_at:
        findings.add("too_long", field, f"{len(value)} characters; unusually long")


def check_message(value: str, findings: Findings) -> None:
    rules = findings.rules
    urls = len(URL_IN_TEXT.findall(value))
    phrases = len(rules.spam_pattern.findall(value)) if rules.spam_pattern else 0
    if phrases >= 2 or (phrases and urls):
        findings.add("message_spam", "message", "reads like contact-form spam (offers with links)")
    elif urls > rules.max_urls:
        findings.add("message_many_urls", "message", f"{urls} links in the message")
    folded = fold(value)
    words = re.findall(r"\w+", folded)
    empty = rules.filler_words | rules.mash_words | rules.message_empty_words
    says_nothing = (
        not words  # ".", "?!", "-"
        or folded in rules.placeholder_values
        or (len(words) <= 3 and all(w in empty or len(set(w)) == 1 for w in words))
    )
    if says_nothing:
        findings.add("placeholder_message", "message", f"the message says nothing ({value.strip()[:20]!r})")
