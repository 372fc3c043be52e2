"""The no-show risk model: features without look-ahead, training, calibration, figures, artifact,
the CSV reader, the `careline risk` commands and the FHIR mapping. Synthetic data only."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from careline.risk import (
    AppointmentFacts,
    CoverageKind,
    Outcome,
    PriorAppointment,
    RiskInputError,
    RiskModelError,
    Sex,
    facts_from_fhir,
    load,
    risk_features,
)
from careline_local.cli import main
from careline_local.risk_training import (
    RiskDataError,
    auc,
    backtest,
    brier,
    calibration_table,
    facts_with_history,
    read_appointments,
    train,
)

HEADER = (
    "PatientId,AppointmentID,Gender,ScheduledDay,AppointmentDay,Age,Neighbourhood,Scholarship,"
    "Hipertension,Diabetes,Alcoholism,Handcap,SMS_received,No-show"
)
FIRST_DAY = date(2024, 3, 4)  # a Monday
LAST_TRAIN_DAY = date(2024, 3, 15)
FIRST_TEST_DAY = date(2024, 3, 18)


def _row(patient: int, appointment: int, booked: datetime, day: date, no_show: bool, *, age: int = 40) -> str:
    return (
        f"{patient},{appointment},F,{booked:%Y-%m-%dT%H:%M:%SZ},{day}T00:00:00Z,{age},CENTRO,"
        f"0,0,0,0,0,0,{'Yes' if no_show else 'No'}"
    )


def synthetic_csv(path: Path, *, patients: int = 700, seed: int = 7) -> Path:
    """Three weeks of weekday appointments. A patient is 'unreliable' (misses 65%) or not (misses
    8%); booking ahead adds risk. So past no-shows tell the model who will miss again."""
    rng = random.Random(seed)
    days = [FIRST_DAY + timedelta(days=i) for i in range(19) if (FIRST_DAY + timedelta(days=i)).weekday() < 5]
    lines = [HEADER]
    appointment = 1000
    for patient in range(1, patients + 1):
        unreliable = rng.random() < 0.3
        for day in sorted(rng.sample(days, rng.randint(1, 4))):
            lead = rng.choice((0, 0, 1, 3, 7, 14))
            booked = datetime.combine(day - timedelta(days=lead), time(9 + rng.randint(0, 8)), UTC)
            chance = (0.65 if unreliable else 0.08) + (0.1 if lead >= 7 else 0.0)
            appointment += 1
            lines.append(
                _row(patient, appointment, booked, day, rng.random() < chance, age=rng.randint(0, 90))
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_csv(tmp_path_factory.mktemp("risk") / "appointments.csv")


def _facts(**changes: object) -> AppointmentFacts:
    facts = AppointmentFacts(
        starts_on=date(2024, 3, 20),
        booked_at=datetime(2024, 3, 10, 15, 0, tzinfo=UTC),
        age=35,
        sex=Sex.FEMALE,
        reminder_sent=False,
        coverage=CoverageKind.OTHER,
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ features


def test_only_appointments_before_the_visits_day_are_history() -> None:
    before = PriorAppointment(date(2024, 3, 1), Outcome.ATTENDED)
    same_day = PriorAppointment(date(2024, 3, 20), Outcome.NO_SHOW)
    later = PriorAppointment(date(2024, 3, 27), Outcome.NO_SHOW)
    assert risk_features(_facts(prior=(before, same_day, later))) == risk_features(_facts(prior=(before,)))
    assert "prior:1" in risk_features(_facts(prior=(before,)))
    assert "prior_noshow:0" in risk_features(_facts(prior=(before,)))


def test_a_future_no_show_in_the_csv_does_not_change_a_past_appointments_features(tmp_path: Path) -> None:
    booked = datetime(2024, 3, 1, 10, tzinfo=UTC)

    def first_visit_features(later_missed: bool) -> list[str]:
        path = tmp_path / f"later-{later_missed}.csv"
        rows = [
            HEADER,
            _row(1, 1, booked, date(2024, 3, 4), no_show=False),
            _row(1, 2, booked, date(2024, 3, 6), no_show=later_missed),
            _row(1, 3, booked, date(2024, 3, 6), no_show=True),
        ]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return risk_features(facts_with_history(read_appointments(path).appointments)[0])

    assert first_visit_features(True) == first_visit_features(False)
    assert "prior:0" in first_visit_features(True)


def test_lead_time_bands_and_hour_only_when_the_source_has_a_time() -> None:
    assert "lead:8-14" in risk_features(_facts())
    assert "lead:0" in risk_features(_facts(booked_at=datetime(2024, 3, 20, 8, tzinfo=UTC)))
    assert not any(f.startswith("hour:") for f in risk_features(_facts()))
    assert "hour:morning" in risk_features(_facts(starts_at=time(9, 30)))


def test_past_no_shows_and_their_recency_are_features() -> None:
    found = risk_features(_facts(prior=(PriorAppointment(date(2024, 3, 15), Outcome.NO_SHOW),)))
    assert {"prior_noshow:1", "last:no_show", "since_noshow:1-7", "noshow_share:all"} <= set(found)


# ------------------------------------------------------------------------------------ figures


def test_auc_counts_pairs_and_gives_ties_half() -> None:
    # positives 0.4 and 0.8 against negatives 0.1 and 0.4: 1 + 0.5 + 1 + 1 of 4 pairs
    assert auc([0.1, 0.4, 0.4, 0.8], [0, 0, 1, 1]) == pytest.approx(0.875)
    assert auc([0.9, 0.1], [0, 1]) == 0.0
    assert auc([0.5, 0.5, 0.5], [1, 0, 1]) == 0.5
    with pytest.raises(ValueError, match="both outcomes"):
        auc([0.1, 0.2], [1, 1])


def test_brier_is_the_mean_squared_gap() -> None:
    assert brier([0.2, 0.9], [0, 1]) == pytest.approx((0.04 + 0.01) / 2)


def test_calibration_table_bins_by_predicted_chance() -> None:
    table = calibration_table([0.1, 0.2, 0.3, 0.9], [0, 0, 1, 1], bins=2)
    assert [(b.n, b.predicted, b.observed) for b in table] == [
        (2, pytest.approx(0.15), 0.0),
        (2, pytest.approx(0.6), 1.0),
    ]


# ------------------------------------------------------------------------------------ training


def test_training_learns_that_past_no_shows_raise_the_risk(csv_file: Path) -> None:
    model = train(read_appointments(csv_file), LAST_TRAIN_DAY)
    missed = _facts(prior=(PriorAppointment(date(2024, 3, 11), Outcome.NO_SHOW),))
    kept = _facts(prior=(PriorAppointment(date(2024, 3, 11), Outcome.ATTENDED),))
    assert model.probability(missed) > model.probability(kept) + 0.15
    assert 0.0 < model.probability(kept) < model.probability(missed) < 1.0


def test_backtest_is_calibrated_and_ranks_well_on_data_with_known_structure(csv_file: Path) -> None:
    result = backtest(read_appointments(csv_file), LAST_TRAIN_DAY, FIRST_TEST_DAY)
    assert result.auc > 0.65
    total = sum(b.n for b in result.table)
    mean_predicted = sum(b.predicted * b.n for b in result.table) / total
    observed = sum(b.observed * b.n for b in result.table) / total
    assert abs(mean_predicted - observed) < 0.05
    # the riskiest decile really is missed more than the safest
    assert result.table[-1].observed > result.table[0].observed + 0.2
    assert result.brier < observed * (1 - observed)  # better than always saying the base rate


def test_training_is_deterministic(csv_file: Path) -> None:
    data = read_appointments(csv_file)
    assert train(data, LAST_TRAIN_DAY).to_json() == train(data, LAST_TRAIN_DAY).to_json()


def test_the_artifact_records_its_training_and_loads_back(csv_file: Path, tmp_path: Path) -> None:
    model = train(read_appointments(csv_file), LAST_TRAIN_DAY)
    path = tmp_path / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    loaded = load(path)
    head = json.loads(path.read_text(encoding="utf-8"))
    assert head["format"] == "careline-noshow-risk/1"
    assert head["training"]["window"] == {"from": "2024-03-04", "until": "2024-03-15"}
    assert head["training"]["rows"] == loaded.training.rows > 0
    assert len(head["training"]["data_sha256"]) == 64
    assert "lead:0" in head["features"]
    assert set(head["training"]["metrics"]) == {"held_out_auc", "held_out_brier", "held_out_rows"}
    assert loaded.version == model.version
    facts = _facts(prior=(PriorAppointment(date(2024, 3, 11), Outcome.NO_SHOW),))
    assert loaded.probability(facts) == pytest.approx(model.probability(facts), abs=1e-5)


def test_load_names_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(RiskModelError, match=r"missing\.json"):
        load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(RiskModelError, match="not JSON"):
        load(bad)
    bad.write_text(json.dumps({"format": "something-else/1"}), encoding="utf-8")
    with pytest.raises(RiskModelError, match="format"):
        load(bad)
    bad.write_text(json.dumps({"format": "careline-noshow-risk/1", "version": "x"}), encoding="utf-8")
    with pytest.raises(RiskModelError, match=r"malformed.*training"):
        load(bad)


# ------------------------------------------------------------------------------------ the CSV


def test_rows_booked_after_their_day_are_dropped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    rows = [
        HEADER,
        _row(1, 1, datetime(2024, 3, 1, 9, tzinfo=UTC), date(2024, 3, 4), no_show=False),
        _row(2, 2, datetime(2024, 3, 5, 9, tzinfo=UTC), date(2024, 3, 4), no_show=True),
        _row(3, 3, datetime(2024, 3, 1, 9, tzinfo=UTC), date(2024, 3, 4), no_show=False, age=-1),
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = read_appointments(path)
    assert [a.patient_id for a in data.appointments] == ["1"]
    assert data.dropped == {"booked_after_day": 1, "negative_age": 1}


def test_a_malformed_row_is_named_by_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    good = _row(1, 1, datetime(2024, 3, 1, 9, tzinfo=UTC), date(2024, 3, 4), no_show=False)
    path.write_text(f"{HEADER}\n{good}\n{good.replace(',No', ',Maybe')}\n", encoding="utf-8")
    with pytest.raises(RiskDataError, match=r"broken\.csv: line 3: No-show"):
        read_appointments(path)
    path.write_text("PatientId,Gender\n1,F\n", encoding="utf-8")
    with pytest.raises(RiskDataError, match="line 1: missing columns"):
        read_appointments(path)


# ------------------------------------------------------------------------------------ commands


def test_backtest_command_ends_with_the_figures_line(
    csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "risk",
            "backtest",
            "--csv",
            str(csv_file),
            "--train-until",
            "2024-03-15",
            "--test-from",
            "2024-03-18",
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert "decile" in out[2]
    assert len(out) == 3 + 10 + 1
    match = re.fullmatch(r"auc=0\.\d{4} brier=0\.\d{4} n_train=(\d+) n_test=(\d+)", out[-1])
    assert match is not None
    data = read_appointments(csv_file)
    assert int(match[1]) == sum(1 for a in data.appointments if a.day <= LAST_TRAIN_DAY)
    assert int(match[2]) == sum(1 for a in data.appointments if a.day >= FIRST_TEST_DAY)


def test_train_command_writes_a_model(
    csv_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.json"
    assert main(["risk", "train", "--csv", str(csv_file), "--until", "2024-03-15", "--out", str(out)]) == 0
    assert load(out).training.window_until == "2024-03-15"
    assert "held-out auc=" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--csv", "{missing}", "--train-until", "2024-03-15", "--test-from", "2024-03-18"], "No such file"),
        (
            ["--csv", "{csv}", "--train-until", "2023-01-01", "--test-from", "2024-03-18"],
            "no appointments on or before",
        ),
        (
            ["--csv", "{csv}", "--train-until", "2024-03-15", "--test-from", "2025-01-01"],
            "no appointments on or after",
        ),
        (["--csv", "{csv}", "--train-until", "2024-03-15", "--test-from", "2024-03-15"], "must be after"),
    ],
)
def test_backtest_command_refuses_bad_input_with_exit_code_2(
    argv: list[str], message: str, csv_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a.format(missing=tmp_path / "missing.csv", csv=csv_file) for a in argv]
    assert main(["risk", "backtest", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_date_is_refused_by_the_parser(csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["risk", "train", "--csv", str(csv_file), "--until", "2024-02-30", "--out", "m.json"])
    assert exit_info.value.code == 2
    assert "use YYYY-MM-DD" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ FHIR

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1990-06-15"}
APPOINTMENT = {
    "resourceType": "Appointment",
    "id": "a9",
    "status": "booked",
    "start": "2024-03-20T09:30:00-04:00",
    "created": "2024-03-06T14:00:00-05:00",
}


def _coded(system: str, code: str, status: str = "active") -> dict[str, object]:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": status}]},
        "code": {"coding": [{"system": system, "code": code}]},
    }


def test_fhir_resources_map_to_the_same_record_the_csv_gives() -> None:
    facts = facts_from_fhir(
        APPOINTMENT,
        PATIENT,
        conditions=[
            _coded("http://hl7.org/fhir/sid/icd-10-cm", "I10"),
            _coded("http://snomed.info/sct", "44054006"),
            _coded("http://hl7.org/fhir/sid/icd-10-cm", "F10.20", status="resolved"),
            _coded("http://hl7.org/fhir/sid/icd-10-cm", "H54.7"),
        ],
        coverages=[
            {"resourceType": "Coverage", "status": "active", "payor": [{"display": "State Medicaid"}]}
        ],
        past_appointments=[
            {
                "resourceType": "Appointment",
                "id": "a1",
                "status": "noshow",
                "start": "2024-02-01T10:00:00-05:00",
            },
            {
                "resourceType": "Appointment",
                "id": "a2",
                "status": "fulfilled",
                "start": "2024-03-01T10:00:00-05:00",
            },
            {
                "resourceType": "Appointment",
                "id": "a3",
                "status": "booked",
                "start": "2024-04-01T10:00:00-04:00",
            },
            {
                "resourceType": "Appointment",
                "id": "a9",
                "status": "booked",
                "start": "2024-03-20T09:30:00-04:00",
            },
        ],
        reminder_sent=True,
    )
    assert facts.starts_on == date(2024, 3, 20)
    assert facts.starts_at == time(9, 30)
    assert facts.lead_days == 14
    assert facts.age == 33
    assert facts.sex is Sex.MALE
    assert facts.coverage is CoverageKind.PUBLIC_ASSISTANCE
    assert (facts.hypertension, facts.diabetes, facts.alcohol_use, facts.disability_level) == (
        True,
        True,
        False,
        1,
    )
    assert facts.prior == (
        PriorAppointment(date(2024, 2, 1), Outcome.NO_SHOW),
        PriorAppointment(date(2024, 3, 1), Outcome.ATTENDED),
    )
    found = risk_features(facts)
    assert {
        "prior:2",
        "prior_noshow:1",
        "last:attended",
        "sms:yes",
        "hour:morning",
        "coverage:public_assistance",
    } <= set(found)


def test_fhir_mapping_with_little_known_still_gives_a_record() -> None:
    facts = facts_from_fhir({"start": "2024-03-20"}, {"resourceType": "Patient"})
    assert (facts.age, facts.sex, facts.booked_at, facts.starts_at) == (None, Sex.UNKNOWN, None, None)
    assert facts.coverage is CoverageKind.OTHER
    assert "lead:0" not in risk_features(facts)


def test_an_appointment_without_a_start_cannot_be_scored() -> None:
    with pytest.raises(RiskInputError, match=r"Appointment\.start"):
        facts_from_fhir({"status": "booked"}, PATIENT)


def test_sopt_medicaid_code_is_public_assistance_and_commercial_is_not() -> None:
    medicaid = {"status": "active", "type": {"coding": [{"system": "https://nahdo.org/sopt", "code": "21"}]}}
    commercial = {
        "status": "active",
        "type": {"coding": [{"system": "https://nahdo.org/sopt", "code": "51"}]},
    }
    assert (
        facts_from_fhir(APPOINTMENT, PATIENT, coverages=[medicaid]).coverage is CoverageKind.PUBLIC_ASSISTANCE
    )
    assert facts_from_fhir(APPOINTMENT, PATIENT, coverages=[commercial]).coverage is CoverageKind.OTHER
