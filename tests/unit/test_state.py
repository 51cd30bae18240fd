from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from peewee import CharField, CompositeKey, Database, IntegerField, Model

from azsyncd.errors import StateError
from azsyncd.state import State, open_database
from azsyncd.state.database import LATEST, _AddressMirror, migrate, schema_version
from azsyncd.state.fields import utcnow
from azsyncd.state.lifecycle import Leaver, LifecycleState
from azsyncd.state.models import DbInfo, MirrorEntry, RaisedAlert, SyncRecord, TenantHealth
from azsyncd.state.repository import Claim, RecordRow
from azsyncd.targets import ContactWrite, Phone
from azsyncd.targets.local.settings import LocalField
from azsyncd.targets.local.store import LocalStore
from azsyncd.targets.local.table import Contact
from tests.helpers import within

# A state database written by azsyncd before the contact table moved to the local target.
PREVIOUS_LAYOUT = Path(__file__).parent / "data" / "state-v1.sql"


class OldClaim(Model):
    """The run's claims as schema version 9 had them: no user, first come not kept."""

    run = IntegerField()
    email = CharField()
    tenant = CharField()
    principal = CharField()

    class Meta:
        table_name = "runclaim"
        primary_key = CompositeKey("run", "email")


def as_version_9(db: Database) -> None:
    """Take a new database back to schema version 9: the mirror one row per address
    (``mirrorentry``), the claims and leaver rows without what step 10 added."""
    _AddressMirror.bind(db)
    db.create_tables([_AddressMirror])
    columns = (
        "email, target_id, tenant, object_id, fingerprint, welcome_state, welcome_name, "
        "welcome_run, welcome_sent_at, updated_at"
    )
    db.execute_sql(f"INSERT INTO mirrorentry ({columns}) SELECT {columns} FROM contact_binding")
    db.execute_sql("DROP TABLE contact_binding")
    OldClaim.bind(db)
    db.execute_sql("DROP TABLE runclaim")
    db.create_tables([OldClaim])
    for column in ("gone_run", "required_values"):
        db.execute_sql(f"ALTER TABLE leaver DROP COLUMN {column}")
    DbInfo.update(value="9").where(DbInfo.key == "schema_version").execute()


@pytest.fixture
def state(tmp_path: Path) -> State:
    return State(open_database("", tmp_path))


def test_new_database_is_migrated_and_uses_wal(state: State) -> None:
    assert schema_version(state.db) == LATEST
    assert state.db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_keeps_data(tmp_path: Path) -> None:
    first = State(open_database("", tmp_path))
    run_id = first.start_run("manual")
    first.close()
    second = State(open_database(f"sqlite:///{tmp_path / 'state.db'}", tmp_path))
    assert second.run(run_id) is not None


def test_a_newer_schema_is_refused(tmp_path: Path, state: State) -> None:
    DbInfo.update(value=str(LATEST + 1)).where(DbInfo.key == "schema_version").execute()
    state.close()
    with pytest.raises(StateError, match="newer than this azsyncd"):
        open_database("", tmp_path)


def test_a_database_of_the_previous_layout_opens_with_its_contacts(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "state.db") as old:
        old.executescript(PREVIOUS_LAYOUT.read_text())
    state = State(open_database("", tmp_path))
    assert schema_version(state.db) == LATEST
    assert state.run(1) is not None and state.mirror(["ann@contoso.example"])
    store = LocalStore([LocalField(name="Department")], state.db)
    ann = store.find_by_email(["ANN@contoso.example"])["ann@contoso.example"]
    assert (ann.name, ann.custom) == ("Ann Lee", {"Department": "Sales", "Office": "Berlin"})
    update = ContactWrite(ann.email, "Ann Berg", ann.phones, {"Department": "IT"}, existing=ann)
    assert store.write([update])[0].id == ann.id
    assert store.search("berg") == (1, [Contact.get_by_id(int(ann.id))])
    assert Contact.get_by_id(int(ann.id)).custom == {"Department": "IT", "Office": "Berlin"}
    # Columns added since: the old rows take their defaults, and they can be set.
    assert Contact.get_by_id(int(ann.id)).login_enabled is True
    store.add_to_group("Sales", [ann.id], True)
    assert Contact.get_by_id(int(ann.id)).groups == {"Sales": True}


def test_a_new_database_gets_the_contact_table_from_the_store(tmp_path: Path) -> None:
    state = State(open_database("", tmp_path))
    assert not state.db.table_exists("contact")  # the run state alone has none
    LocalStore([], state.db)
    assert state.db.table_exists("contact")


def test_unknown_database_url_says_what_works(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="sqlite:///path or postgresql://"):
        open_database("mongodb://nowhere/x", tmp_path)


def test_runs_left_running_are_marked_interrupted(state: State) -> None:
    run_id = state.start_run("scheduled")
    assert state.mark_interrupted("the daemon stopped") == [run_id]
    run = state.run(run_id)
    assert run is not None and run.status == "interrupted" and run.finished_at is not None
    assert [line.message for line in state.log_lines(run_id)] == ["the daemon stopped"]


def test_history_keeps_the_newest_runs_with_their_records(state: State) -> None:
    ids = []
    for i in range(5):
        run_id = state.start_run("manual")
        state.add_records(run_id, [RecordRow("t", f"u{i}", f"u{i}@x.test", "New", "success", "")])
        state.log(run_id, "hello")
        state.finish_run(run_id, "succeeded")
        ids.append(run_id)
    assert state.prune_history(2) == 3
    assert [r.id for r in state.runs()] == ids[:-3:-1]
    assert SyncRecord.select().count() == 2


def test_records_filter_and_search(state: State) -> None:
    run_id = state.start_run("manual")
    state.add_records(
        run_id,
        [
            RecordRow("t", "1", "Ann@X.test", "New", "success", ""),
            RecordRow("t", "2", "bob@x.test", "Existing", "failed", "bad"),
            RecordRow("t", "3", "cy@y.test", "New", "failed", "bad"),
        ],
    )
    assert [r.email for r in state.records(run_id, status="failed")] == ["bob@x.test", "cy@y.test"]
    assert [r.email for r in state.records(run_id, search="ann@x")] == ["Ann@X.test"]
    assert state.count_records(run_id, status="failed", search="x.test") == 1


def test_tenant_state_round_trip(state: State) -> None:
    assert state.tenant("c").status == "new"
    state.set_tenant("c", status="disabled", reason="consent revoked", fix="grant consent")
    state.set_tenant("c", display_name="Contoso")
    row = state.tenant("c")
    assert (row.status, row.reason, row.display_name) == ("disabled", "consent revoked", "Contoso")
    state.forget_tenant("c")
    assert state.tenant("c").status == "new"


def test_postgresql_by_url(postgres_url: str, tmp_path: Path) -> None:
    state = State(open_database(postgres_url, tmp_path))
    assert schema_version(state.db) == LATEST
    run_id = state.start_run("manual", options={"user": "ann@x.test"})
    state.add_records(run_id, [RecordRow("t", "1", "Ann@X.test", "New", "failed", "bad ünïcode")])
    state.log(run_id, "hello")
    state.set_tenant("contoso", status="active")
    assert state.mark_interrupted("stopped") == [run_id]
    state.close()
    again = State(open_database(postgres_url, tmp_path))  # migrations are idempotent
    run = again.run(run_id)
    assert run is not None and run.status == "interrupted" and run.options == {"user": "ann@x.test"}
    assert [r.result for r in again.records(run_id, search="ann@")] == ["bad ünïcode"]
    assert again.tenant("contoso").status == "active"
    assert again.prune_history(1) == 0
    store = LocalStore([LocalField(name="Notes")], again.db)  # creates its table there
    written = [ContactWrite("ann@x.test", "Ann", [Phone("w", "+1")], {"Notes": "ünï"})]
    assert store.write(written)[0].ok
    assert store.find_by_email(["Ann@X.test"])["ann@x.test"].custom == {"Notes": "ünï"}
    lifecycle_round_trip(again)
    again.close()


def lifecycle_round_trip(state: State) -> None:
    """Leaver rows and rule memberships upsert the same way on SQLite and PostgreSQL."""
    memory = LifecycleState(state.db)
    row = Leaver(tenant="t", object_id="u1", email="a@x.test", gone_since=utcnow())
    memory.save_leavers([row])
    row.acted = True
    memory.save_leavers([row])  # the second save updates
    assert [(r.object_id, r.acted) for r in memory.all_leavers()] == [("u1", True)]
    row.gone_since, row.acted = None, False
    memory.save_leavers([row])  # back and nothing owed: forgotten
    assert memory.all_leavers() == []
    member = {"group": "G", "target_id": "7", "tenant": "t", "object_id": "u1"}
    memory.add_members([{**member, "access_tickets": False}])
    memory.add_members([{**member, "access_tickets": True}])
    assert memory.members("t") == {"G": {"u1": True}}
    assert memory.member_contacts("t", "G", ["u1"]) == {"u1": "7"}
    memory.remove_members("G", ["7"])
    assert memory.members("t") == {}


def test_lifecycle_tables_on_sqlite(state: State) -> None:
    lifecycle_round_trip(state)


def test_a_version_1_database_gains_the_welcome_columns(tmp_path: Path) -> None:
    old = State(open_database("", tmp_path))
    old.remember([{"email": "ann@x.test", "tenant": "t", "object_id": "1", "fingerprint": "f"}])
    old.remember([{"email": "bob@x.test", "tenant": "t", "object_id": "2", "fingerprint": "f"}])
    db = old.db
    as_version_9(db)
    db.execute_sql(
        "UPDATE mirrorentry SET welcome_sent_at = '2024-01-01T00:00:00+00:00'"
        " WHERE email = 'ann@x.test'"
    )
    for column in ("welcome_state", "welcome_name", "welcome_run"):
        db.execute_sql(f"ALTER TABLE mirrorentry DROP COLUMN {column}")  # as version 1 had it
    DbInfo.update(value="1").where(DbInfo.key == "schema_version").execute()
    old.close()
    state = State(open_database("", tmp_path))
    assert schema_version(state.db) == LATEST
    rows = {r.email: r.welcome_state for r in MirrorEntry.select()}
    assert rows == {"ann@x.test": "sent", "bob@x.test": ""}  # a claim of old counted as sent
    assert state.claim_welcome("ann@x.test") is False


def test_a_version_7_database_gains_the_lifecycle_tables(tmp_path: Path) -> None:
    old = State(open_database("", tmp_path))
    old.remember([{"email": "ann@x.test", "tenant": "t", "object_id": "1", "fingerprint": "f"}])
    db = old.db
    as_version_9(db)
    db.execute_sql("DROP TABLE leaver")
    db.execute_sql("DROP TABLE rule_member")
    DbInfo.update(value="7").where(DbInfo.key == "schema_version").execute()
    old.close()
    state = State(open_database("", tmp_path))
    assert schema_version(state.db) == LATEST
    assert {"leaver", "rule_member"} <= set(state.db.get_tables())
    assert [r.email for r in MirrorEntry.select()] == ["ann@x.test"]
    lifecycle_round_trip(state)


def test_step_8_keeps_tables_an_earlier_build_created(tmp_path: Path) -> None:
    """Earlier builds created the lifecycle tables on first use or at a step 5 of their own,
    without the run bookkeeping: their leaver rows stay and the bookkeeping is added."""
    old = State(open_database("", tmp_path))
    LifecycleState(old.db).save_leavers(
        [Leaver(tenant="t", object_id="u1", email="a@x.test", gone_since=utcnow())]
    )
    for table in ("runseen", "runclaim"):
        old.db.execute_sql(f"DROP TABLE {table}")
    DbInfo.update(value="5").where(DbInfo.key == "schema_version").execute()
    old.close()
    state = State(open_database("", tmp_path))
    assert schema_version(state.db) == LATEST
    assert [r.object_id for r in LifecycleState(state.db).all_leavers()] == ["u1"]
    assert state.see_users(1, "t", ["u1"]) == 1


SHARED_TABLES = {"azsync_leader", "azsync_settings", "rate_call", "rate_lock"}


def test_a_version_6_database_gains_the_shared_tables_and_keeps_its_rows(tmp_path: Path) -> None:
    old = State(open_database("", tmp_path))
    old.set_tenant("contoso", status="active")
    old.see_users(1, "contoso", ["u1"])  # a run's bookkeeping of version 6
    for table in sorted(SHARED_TABLES):
        old.db.execute_sql(f"DROP TABLE {table}")  # as version 6 had it
    DbInfo.update(value="6").where(DbInfo.key == "schema_version").execute()
    assert not SHARED_TABLES & set(old.db.get_tables())
    old.close()
    state = State(open_database("", tmp_path))
    assert schema_version(state.db) == LATEST
    assert set(state.db.get_tables()) >= SHARED_TABLES
    assert state.tenant("contoso").status == "active"
    assert state.see_users(1, "contoso", ["u1"]) == 0  # already seen: the row is kept
    # Step 7 finding its tables there already (made by a daemon of the branch before it)
    # leaves them and their rows alone.
    state.db.execute_sql("INSERT INTO rate_lock (account, until) VALUES ('a', 5)")
    DbInfo.update(value="6").where(DbInfo.key == "schema_version").execute()
    state.close()
    again = State(open_database("", tmp_path))
    assert schema_version(again.db) == LATEST
    assert again.db.execute_sql("SELECT account, until FROM rate_lock").fetchall() == [("a", 5.0)]
    again.close()


def test_daemons_opening_one_new_postgresql_state_together_migrate_it_once(
    postgres_url: str, tmp_path: Path
) -> None:
    import subprocess
    import sys

    opening = (
        "import sys; from pathlib import Path; from azsyncd.state import open_database;"
        " open_database(sys.argv[1], Path(sys.argv[2])).close()"
    )
    daemons = [
        subprocess.Popen(
            [sys.executable, "-c", opening, postgres_url, str(tmp_path / str(i))],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    errors = [d.communicate(timeout=within(60))[1] for d in daemons]
    assert [d.returncode for d in daemons] == [0] * 4, errors
    state = State(open_database(postgres_url, tmp_path))
    assert schema_version(state.db) == LATEST
    assert set(state.db.get_tables()) >= SHARED_TABLES
    state.close()


def test_a_version_4_database_gains_the_run_bookkeeping(tmp_path: Path) -> None:
    old = State(open_database("", tmp_path))
    old.remember([{"email": "ann@x.test", "tenant": "t", "object_id": "1", "fingerprint": "f"}])
    as_version_9(old.db)
    for table in ("runseen", "runclaim"):
        old.db.execute_sql(f"DROP TABLE {table}")  # as version 4 had it
    DbInfo.update(value="4").where(DbInfo.key == "schema_version").execute()
    old.close()
    state = State(open_database("", tmp_path))
    assert schema_version(state.db) == LATEST
    assert state.see_users(1, "t", ["1", "2"]) == 2 and state.unseen_mirrored(1, "t") == 0
    state.claim(1, {"ann@x.test": Claim("t", "1", "ann@t")})
    assert state.claims(1, ["ann@x.test"]) == {"ann@x.test": Claim("t", "1", "ann@t")}
    assert state.mirror(["ann@x.test"])  # the data of version 4 is kept
    state.close()
    again = State(open_database("", tmp_path))  # the step runs once; run again, it keeps all
    DbInfo.update(value="4").where(DbInfo.key == "schema_version").execute()
    again.close()
    third = State(open_database("", tmp_path))
    assert schema_version(third.db) == LATEST and third.claims(1, ["ann@x.test"])


def test_a_version_6_database_gains_the_health_and_alert_tables_once(tmp_path: Path) -> None:
    old = State(open_database("", tmp_path))
    old.db.drop_tables([TenantHealth, RaisedAlert])  # as version 6 had it
    DbInfo.update(value="6").where(DbInfo.key == "schema_version").execute()
    old.close()
    state = State(open_database("", tmp_path))
    assert schema_version(state.db) == LATEST == 11
    RaisedAlert.create(key="held-1", title="run 1 is held")
    # Step 9 again (a half-applied upgrade, a second daemon) keeps what the tables hold.
    DbInfo.update(value="6").where(DbInfo.key == "schema_version").execute()
    migrate(state.db)
    assert schema_version(state.db) == LATEST
    assert [a.key for a in RaisedAlert.select()] == ["held-1"]
    assert state.health("t").failures == 0


@pytest.mark.parametrize("url", ["sqlite", "postgresql"])
def test_step_10_binds_each_contact_to_its_user_and_keeps_the_newest_of_a_rename(
    url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The mirror of version 9 (one row per address) becomes one binding per directory
    object: every row's user keeps its contact, its welcome state and fingerprint; a user
    with two rows (an address change used to create a second contact) keeps the newest."""
    database = request.getfixturevalue("postgres_url") if url == "postgresql" else ""
    old = State(open_database(database, tmp_path))
    rows = [
        ("ann@old.test", "1", "t", "oid-ann", "f1", "2025-01-01T00:00:00.000000+00:00"),
        ("ann@new.test", "9", "t", "oid-ann", "f2", "2025-03-01T00:00:00.000000+00:00"),
        ("bob@x.test", "2", "t", "oid-bob", "f3", "2025-01-01T00:00:00.000000+00:00"),
        ("bob@x.test.other", "3", "u", "oid-bob", "f4", "2025-01-01T00:00:00.000000+00:00"),
    ]
    as_version_9(old.db)
    for email, target_id, tenant, object_id, fingerprint, at in rows:
        _AddressMirror.create(
            email=email,
            target_id=target_id,
            tenant=tenant,
            object_id=object_id,
            fingerprint=fingerprint,
            welcome_state="sent" if target_id == "2" else "",
            updated_at=datetime.fromisoformat(at),
        )
    old.db.execute_sql(
        "INSERT INTO leaver (tenant, object_id, email, disabled, acted, reason) "
        "VALUES ('t', 'oid-bob', 'bob@x.test', true, true, '')"
    )
    old.close()
    state = State(open_database(database, tmp_path))
    assert schema_version(state.db) == LATEST
    assert "mirrorentry" not in state.db.get_tables()
    bound = {
        (b.tenant, b.object_id): (b.email, b.target_id, b.fingerprint) for b in MirrorEntry.select()
    }
    assert bound == {
        ("t", "oid-ann"): ("ann@new.test", "9", "f2"),
        ("t", "oid-bob"): ("bob@x.test", "2", "f3"),
        ("u", "oid-bob"): ("bob@x.test.other", "3", "f4"),
    }
    assert state.mirror_entry("bob@x.test").welcome_state == "sent"  # type: ignore[union-attr]
    assert state.bindings("t", ["oid-ann"])["oid-ann"].target_id == "9"
    leaver = LifecycleState(state.db).leavers("t")["oid-bob"]
    assert leaver.acted and leaver.gone_run is None and leaver.required_values == {}
    state.claim(1, {"x@y.test": Claim("t", "oid-ann", "ann@t", True)})
    assert state.claims(1, ["x@y.test"])["x@y.test"].binds is True
    migrate(state.db)  # again (a second daemon): the bindings stay as they are
    DbInfo.update(value="9").where(DbInfo.key == "schema_version").execute()
    migrate(state.db)
    assert MirrorEntry.select().count() == 3
    state.close()
