"""The workflow file shipped with the project, and what a broken one says."""

from __future__ import annotations

import pytest

from schedules.workflow_defs import WorkflowFileError, load, parse, step_hours


def test_shipped_workflows_follow_the_sop() -> None:
    defs = load()
    assert {code: len(w.steps) for code, w in defs.workflows.items()} == {
        "6.C.f": 7,
        "6.C.g": 3,
        "6.D.c": 8,
    }
    certificate = defs.workflows["6.C.f"]
    assert [s.owner for s in certificate.steps] == [
        "divisi_layanan", "dosen", "divisi_layanan", "divisi_layanan", "wr1",
        "divisi_layanan", "mitra",
    ]  # fmt: skip
    assert defs.role_name("wr1") == "Wakil Rektor I UNR"
    assert defs.workflows["6.D.c"].step(6).owner == "biro_kerjasama"


def test_durations_from_settings_override_the_file() -> None:
    certificate = load().workflows["6.C.f"]
    assert step_hours(certificate, 2, {}) == 120
    assert step_hours(certificate, 2, {"6.C.f": 10}) == 10
    assert step_hours(certificate, 2, {"6.C.f": 10, "6.C.f.2": 3}) == 3
    assert step_hours(certificate, 3, {"6.C.f.2": 3}) == 48


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "needs a `workflows` mapping"),
        ({"workflows": {"x": {"steps": []}}}, "workflow x: needs a list of steps"),
        ({"roles": {}, "workflows": {"x": {"steps": [{"owner": "a", "text": "t"}]}}},
         "unknown role a"),
        ({"roles": {"a": "A"}, "workflows": {"x": {"steps": [{"owner": "a"}]}}},
         "needs `owner` and `text`"),
        ({"roles": {"a": "A"},
          "workflows": {"x": {"steps": [{"owner": "a", "text": "t", "hours": 0}]}}},
         "hours must be positive"),
    ],
)  # fmt: skip
def test_broken_file_names_the_place(data: object, message: str) -> None:
    with pytest.raises(WorkflowFileError, match=message):
        parse(data, source="wf.yaml")
