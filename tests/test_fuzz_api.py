"""A bounded schemathesis run over the whole OpenAPI document, in-process against the real app.

Every operation gets a few generated requests, once with an officer's token and once with an
enterprise user's; each response must not be a server error, must be of a documented status
and content type, and must match the documented schema. Generation is derandomised (the same
requests every run) and not shrunk, so the run is reproducible and bounded.

Deselect with ``-m "not fuzz"``; ``FUZZ_EXAMPLES`` sets the examples per operation and role.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.fuzz

OPENAPI_URL = "/api/v1/openapi.json"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Requests that break the schema (wrong types, out-of-range numbers, missing members) must not
#: cause a server error or an undocumented answer either. (schemathesis's negative_data_rejection
#: is not used: its findings here were unknown query arguments, which list filters ignore by
#: design, and a removed Authorization header that this run puts back.)
NEGATIVE_CHECKS = CHECKS


def _seed(client, people) -> None:
    """Some records for the generated ids to find, made through the API as a user would."""
    from emergency.auth.operations import issue_token
    from emergency.core.extensions import db

    raw, _token = issue_token(people["enterprise"], "seed")
    db.session.commit()
    ent = {"Authorization": f"Bearer {raw}"}
    for path, body in (
        ("/api/v1/plans", {"kind": "comprehensive", "title": "甲化工生产安全事故综合应急预案"}),
        ("/api/v1/contacts", {"name": "王五", "mobile": "139 0000 0009", "org_kind": "enterprise"}),
        ("/api/v1/drill-cycles", {"name": "月末演练", "preset": "custom", "rule": {"freq": "monthly", "day": 28},
                                  "start_time": "14:00", "starts_on": "2026-11-23"}),
    ):
        response = client.post(path, headers=ent, json=body)
        assert response.status_code == 201, (path, response.get_json())


def _fuzz_operation(operation, mode, checks, user) -> str | None:
    """Generated requests for one operation; what failed, or None."""
    from emergency.auth.operations import issue_token
    from emergency.core.extensions import db

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        # A fresh token for every request: a generated DELETE /auth/token must not log the run out.
        token, _record = issue_token(db.session.get(type(user), user.id), "fuzz")
        db.session.commit()
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks)

    try:
        run()
    except Unsatisfiable:
        return None  # no invalid request can be made for this operation (e.g. one free-form path string)
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every failing operation is reported
        return f"{operation.label} ({mode.value}): {exc}"[:3000]
    return None


def _fuzz(app, user) -> list[str]:
    loaded = schemathesis.openapi.from_wsgi(OPENAPI_URL, app)
    failures: list[str] = []
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) > 60, "the OpenAPI document lost its operations"
    for operation in operations:
        for mode, checks in ((GenerationMode.POSITIVE, CHECKS), (GenerationMode.NEGATIVE, NEGATIVE_CHECKS)):
            failure = _fuzz_operation(operation, mode, checks, user)
            if failure:
                failures.append(failure)
    return failures


@pytest.mark.parametrize("role", ["officer", "enterprise"])
def test_fuzz_whole_api(app, client, people, role):
    _seed(client, people)
    failures = _fuzz(app, people[role])
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
