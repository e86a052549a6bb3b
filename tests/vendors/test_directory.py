"""The vendor directory on PostgreSQL: CSV validation, upsert counts, rejects, search by trade
(synonyms included) and area; ``make vendors-import`` through its entry point."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from chalicelib.db.engine import get_engine
from chalicelib.vendors.directory import VendorDirectory, area_in, canonical_trade, trade_in
from chalicelib.vendors.import_cli import main
from chalicelib.vendors.importer import RowError, import_text, parse_csv


@pytest.fixture()
def directory(pg_url: str) -> VendorDirectory:
    return VendorDirectory(get_engine(pg_url))


@pytest.fixture()
def town() -> str:
    """An area no other test's vendors serve."""
    return f"testville {uuid.uuid4().hex[:8]}"


def csv_for(town: str, tag: str) -> str:
    return (
        "name,trades,areas,email,phone\n"
        f"Pipe Heroes,plumber;Gas Fitting;drains,{town.title()};Elsewhere,Pipes-{tag}@heroes.example,+1 512 555 0100\n"
        f"Volt Bros,electrician,{town},volt-{tag}@bros.example,\n"
        f"No Email,plumbing,{town},,\n"
        f"Bad Phone,plumbing,{town},bad-{tag}@x.example,call me maybe\n"
        f",plumbing,{town},noname-{tag}@x.example,\n"
        f"No Trade,,{town},notrade-{tag}@x.example,\n"
        f"Too,many,fields,here-{tag}@x.example,1,2,3\n"
    )


def test_import_validates_upserts_and_reports(directory: VendorDirectory, town: str) -> None:
    tag = uuid.uuid4().hex[:8]
    report = import_text(directory, csv_for(town, tag))
    assert (report.inserted, report.updated, report.unchanged) == (2, 0, 0)
    assert [line for line, _ in report.rejected] == [4, 5, 6, 7, 8]
    reasons = dict(report.rejected)
    assert "email" in reasons[4] and "phone" in reasons[5] and "name" in reasons[6] and "trades" in reasons[7]

    found = directory.find("plumbing", town)
    assert [v.name for v in found] == ["Pipe Heroes"]
    heroes = found[0]
    assert heroes.trades == ["plumbing", "gas fitting"] and heroes.areas == [town, "elsewhere"]
    assert heroes.email == f"pipes-{tag}@heroes.example" and heroes.source == "import"
    assert [v.name for v in directory.find("Plumbers", town.upper())] == ["Pipe Heroes"]  # synonym, any case
    assert directory.find("plumbing", "nowhere at all") == []
    assert town in directory.known_areas()

    again = import_text(directory, csv_for(town, tag).replace("Volt Bros", "Volt Brothers"))
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    assert [v.name for v in directory.find("electrical", town)] == ["Volt Brothers"]
    assert directory.find("electrical", town)[0].id == directory.find("electrician", town)[0].id  # same row


def test_a_file_without_the_columns_is_refused() -> None:
    with pytest.raises(RowError, match="missing: email"):
        parse_csv("name,trades,areas\nA,plumbing,x\n")


def test_a_repeated_email_keeps_the_last_row() -> None:
    rows, rejected = parse_csv("name,trades,areas,email\nA,plumbing,x,a@x.example\nB,plumbing,y,A@X.example\n")
    assert [r.name for r in rows] == ["B"] and rejected == []


def test_make_vendors_import_entry_point(local_env: Path, tmp_path: Path, town: str, capsys) -> None:  # noqa: ANN001
    from chalicelib import wiring

    path = tmp_path / "vendors.csv"
    path.write_text(csv_for(town, uuid.uuid4().hex[:8]), encoding="utf-8")
    assert main([str(path), "--source", "chamber"]) == 1  # rejects make the exit status 1
    out, err = capsys.readouterr()
    assert out.strip() == "2 inserted, 0 updated, 0 unchanged, 5 rejected"
    assert "line 4: rejected: email" in err
    assert {v.source for v in wiring.vendor_directory().find("plumbing", town)} == {"chamber"}
    assert main([str(tmp_path / "missing.csv")]) == 2


def test_the_local_stage_loads_the_sample_directory(local_env: Path) -> None:
    from chalicelib import wiring

    found = wiring.vendor_directory().find("landscaping", "Charlotte")
    assert len(found) >= 3 and {v.source for v in found if v.email.endswith(".example")} >= {"sample"}


@pytest.mark.parametrize(("text", "trade", "area"), [
    ("Find me a landscaper in Charlotte under $300", "landscaping", "charlotte"),
    ("My kitchen faucet is leaking, Austin TX", "plumbing", "austin"),
    ("Need an electrician near round rock asap", "electrical", "round rock"),
    ("Paint my fence", "painting", None),
    ("hello", None, None),
])
def test_planning_words(text: str, trade: str | None, area: str | None) -> None:
    assert trade_in(text) == trade
    assert area_in(text, {"charlotte", "austin", "round rock", "round"}) == area
    assert canonical_trade("Electricians") == "electrical"


def test_concurrent_imports_of_the_same_rows_both_succeed(directory: VendorDirectory, town: str) -> None:
    """Workers of a fresh local stage load the sample at once: neither fails on the other's rows."""
    import threading

    text = "name,trades,areas,email\n" + "".join(
        f"Vendor {i},plumbing,{town},v{i}-{town[-8:]}@race.example\n" for i in range(40))
    barrier, reports, failures = threading.Barrier(4), [], []

    def load() -> None:
        barrier.wait()
        try:
            reports.append(import_text(directory, text))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and sum(r.inserted for r in reports) == 40
    assert len(directory.find("plumbing", town, limit=100)) == 40
