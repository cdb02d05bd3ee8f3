"""schemathesis hooks for scripts/api-conformance, loaded through SCHEMATHESIS_HOOKS.

Every POST takes an optional `Idempotency-Key` header, and a key sent again with another request is
rightly refused (422). Generated keys repeat across cases (short strings such as "0"), so most POSTs
would meet that refusal instead of their own rules: a well-formed key is made unique to its request
(a counter, so a run stays repeatable); a malformed one is sent as generated, for the API to refuse.
Only positive cases are edited: an edit makes schemathesis judge the case again, and a negative one
missing its Authorization header would then be sent with it.

With its POSTs answered, a run may hand the member's SER role over and then remove the member or
change their role (with the id schemathesis learnt from an answer), after which the rest of the
run meets 404 or 403: the member the run acts as (`ACCORD_MEMBER_ID`) is put back as a JMT member
by the site administrator at once.
"""

import itertools
import json
import os
import re
import urllib.error
import urllib.request

import schemathesis

WELL_FORMED = re.compile(r"[!-~]{1,255}")
SENT = itertools.count(1)
MEMBER = os.environ.get("ACCORD_MEMBER_ID")


@schemathesis.hook
def before_call(context, case, **kwargs):
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and WELL_FORMED.fullmatch(key):
        case.headers["Idempotency-Key"] = f"conformance-{next(SENT)}"


def as_admin(method, path, body):
    url = f"{os.environ['ACCORD_URL']}/api/v1/relationships/{os.environ['ACCORD_RELATIONSHIP']}{path}"
    headers = {"Authorization": f"Bearer {os.environ['ACCORD_ADMIN_TOKEN']}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method, headers=headers)
    try:
        urllib.request.urlopen(request).read()
    except urllib.error.HTTPError as e:
        print(f"conformance_hooks: could not put the member back ({method} {path}): {e.code} {e.read()[:200]!r}")


@schemathesis.hook
def after_call(context, case, response):
    if response.status_code // 100 != 2 or not case.path.endswith("/members/{user_id}"):
        return
    if (case.path_parameters or {}).get("user_id") != MEMBER:
        return
    if case.method == "DELETE":
        as_admin("POST", "/members", {"email": os.environ["ACCORD_MEMBER_EMAIL"], "role": "jmt"})
    elif case.method == "PUT":
        as_admin("PUT", f"/members/{MEMBER}", {"role": "jmt"})
