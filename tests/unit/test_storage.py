"""Storage layer: migrations, SQLite pragmas, token vault, repositories."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, text

from bot.storage import (
    AuditRepo,
    Base,
    CredentialRepo,
    Database,
    TokenVault,
    UserRepo,
    VaultError,
    WatchRepo,
    migration_config,
    upgrade,
)
from bot.storage.migrate import MIGRATIONS_DIR, downgrade

TOKEN = "mit-SECRET-token-7f3a9c1e5b2d4f60a8e1c3b5d7f9a2c4"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def db(tmp_path: Path):
    url = sqlite_url(tmp_path / "data" / "bot.db")
    await upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def vault() -> TokenVault:
    return TokenVault([TokenVault.generate_key()])


async def _schema_diff(database: Database, metadata: MetaData) -> list:
    async with database.engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: compare_metadata(MigrationContext.configure(sync_conn), metadata)
        )


async def _save(repo: CredentialRepo, session, owner: int = 1001, token: str = TOKEN, **kw):
    args = dict(
        owner_chat_id=owner,
        owner_kind="user",
        added_by_user_id=owner,
        token=token,
        account_id=42,
        account_name="Acme",
        account_email="ops@example.com",
    )
    args.update(kw)
    return await repo.save(session, **args)


# --------------------------------------------------------------------------- migrations


async def test_migrations_match_models(db: Database):
    assert await _schema_diff(db, Base.metadata) == []


async def test_schema_check_detects_unmigrated_column(db: Database):
    # The check above must not be vacuous: a model column without a
    # migration has to show up as a difference.
    md = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(md)
    md.tables["credentials"].append_column(Column("note", String(50), nullable=True))
    diff = await _schema_diff(db, md)
    assert any(d[0] == "add_column" and d[3].name == "note" for d in diff)


async def test_downgrade_to_base_and_upgrade_again(tmp_path: Path):
    url = sqlite_url(tmp_path / "m.db")
    await upgrade(url)
    await downgrade(url, "base")
    database = Database(url)
    try:
        async with database.session() as s:
            tables = set(
                (await s.execute(text("SELECT name FROM sqlite_master WHERE type='table'")))
                .scalars()
                .all()
            )
        assert tables <= {"alembic_version"}
        await upgrade(url)
        await upgrade(url)  # idempotent at head
        assert await _schema_diff(database, Base.metadata) == []
    finally:
        await database.dispose()


def test_migration_config_is_cwd_independent(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = migration_config("sqlite+aiosqlite:///x%20y.db")
    loc = Path(cfg.get_main_option("script_location"))
    assert loc.is_absolute() and loc == MIGRATIONS_DIR
    assert (loc / "env.py").is_file()
    assert cfg.get_main_option("sqlalchemy.url") == "sqlite+aiosqlite:///x%20y.db"


# --------------------------------------------------------------------------- engine


async def test_sqlite_pragmas_and_parent_dir(tmp_path: Path):
    path = tmp_path / "nested" / "dir" / "bot.db"
    database = Database(sqlite_url(path))
    try:
        assert path.parent.is_dir()
        async with database.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await database.dispose()


async def test_session_commits_and_rolls_back(db: Database):
    async with db.session() as s:
        await UserRepo.upsert(s, 1, first_name="A", language_code="en")
    with pytest.raises(RuntimeError):
        async with db.session() as s:
            await UserRepo.upsert(s, 2, first_name="B", language_code="en")
            raise RuntimeError("boom")
    async with db.session() as s:
        assert await UserRepo.get(s, 1) is not None
        assert await UserRepo.get(s, 2) is None


# --------------------------------------------------------------------------- vault


async def test_token_encrypted_at_rest(db: Database, vault: TokenVault, tmp_path: Path):
    repo = CredentialRepo(vault)
    async with db.session() as s:
        cred = await _save(repo, s)
        assert cred.fingerprint == TokenVault.fingerprint(TOKEN)
    async with db.session() as s:
        cred = await repo.get_for_owner(s, 1001)
        assert cred is not None
        assert repo.token_of(cred) == TOKEN
        assert TOKEN.encode() not in cred.token_encrypted

    # Inspect the raw files (main db + WAL) before and after a checkpoint.
    db_path = tmp_path / "data" / "bot.db"

    def raw() -> bytes:
        data = b""
        for suffix in ("", "-wal", "-journal"):
            p = Path(str(db_path) + suffix)
            if p.exists():
                data += p.read_bytes()
        return data

    assert TOKEN.encode() not in raw()
    async with db.engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    await db.dispose()
    data = raw()
    assert b"ops@example.com" in data  # sanity: we really are reading the data
    assert TOKEN.encode() not in data
    assert TOKEN[4:20].encode() not in data


def test_fingerprint_stable_and_non_revealing():
    fp = TokenVault.fingerprint(TOKEN)
    assert fp == TokenVault.fingerprint(TOKEN)
    assert len(fp) == 16 and all(c in "0123456789abcdef" for c in fp)
    assert fp not in TOKEN and TOKEN not in fp
    assert fp != TokenVault.fingerprint(TOKEN + "x")


def test_vault_roundtrip_and_errors():
    v = TokenVault([TokenVault.generate_key()])
    blob = v.encrypt(TOKEN)
    assert isinstance(blob, bytes) and v.decrypt(blob) == TOKEN
    other = TokenVault([TokenVault.generate_key()])
    with pytest.raises(VaultError) as ei:
        other.decrypt(blob)
    assert TOKEN not in str(ei.value)
    with pytest.raises(VaultError):
        v.decrypt(b"garbage")
    with pytest.raises(VaultError):
        TokenVault([])


def test_vault_repr_hides_keys():
    key = TokenVault.generate_key()
    v = TokenVault([key])
    assert key not in repr(v) and key[:10] not in repr(v)


def test_parse_keys():
    a, b = TokenVault.generate_key(), TokenVault.generate_key()
    assert TokenVault.parse_keys(f" {a} , {b} ,") == [a, b]
    bad = "this-is-not-a-fernet-key-SeCrEt"
    with pytest.raises(VaultError) as ei:
        TokenVault.parse_keys(f"{a},{bad}")
    msg = str(ei.value)
    assert "ENCRYPTION_KEYS item 2" in msg
    assert bad not in msg and "SeCrEt" not in msg
    with pytest.raises(VaultError):
        TokenVault.parse_keys("  ")


async def test_key_rotation(db: Database):
    key_a, key_b = TokenVault.generate_key(), TokenVault.generate_key()
    async with db.session() as s:
        await _save(CredentialRepo(TokenVault([key_a])), s, owner=1)
        await _save(CredentialRepo(TokenVault([key_a])), s, owner=2, token=TOKEN + "2")

    repo_ba = CredentialRepo(TokenVault([key_b, key_a]))
    async with db.session() as s:
        creds = await repo_ba.all(s)
        assert [repo_ba.token_of(c) for c in creds] == [TOKEN, TOKEN + "2"]
        assert await repo_ba.rotate_all(s) == 2

    repo_b = CredentialRepo(TokenVault([key_b]))
    async with db.session() as s:
        creds = await repo_b.all(s)
        assert [repo_b.token_of(c) for c in creds] == [TOKEN, TOKEN + "2"]
        with pytest.raises(VaultError):
            CredentialRepo(TokenVault([key_a])).token_of(creds[0])


# --------------------------------------------------------------------------- repositories


async def test_user_upsert_keeps_explicit_language(db: Database):
    async with db.session() as s:
        u = await UserRepo.upsert(s, 77, first_name="Sara", language_code="fa-IR")
        assert u.language is None and u.language_code == "fa-IR"
        assert u.created_at.tzinfo is not None
        await UserRepo.set_language(s, 77, "en")
    async with db.session() as s:
        u = await UserRepo.upsert(s, 77, first_name="Sara2", language_code="fa")
        assert (u.first_name, u.language_code, u.language) == ("Sara2", "fa", "en")
    async with db.session() as s:
        u = await UserRepo.get(s, 77)
        assert u is not None and u.language == "en"
        assert u.updated_at.utcoffset() == timedelta(0)


async def test_credential_save_replaces_and_resets(db: Database, vault: TokenVault):
    repo = CredentialRepo(vault)
    async with db.session() as s:
        cred = await _save(repo, s)
        cred_id = cred.id
        assert await repo.mark_invalid(s, cred_id) is True
        await repo.set_throttled_until(s, cred_id, datetime.now(timezone.utc) + timedelta(minutes=5))
    async with db.session() as s:
        cred = await _save(repo, s, token="new-token", account_name="Acme 2")
        assert cred.id == cred_id
        assert repo.token_of(cred) == "new-token"
        assert cred.account_name == "Acme 2"
        assert cred.invalid_since is None and cred.invalid_notified is False
        assert cred.throttled_until is None
        assert len(await repo.all(s)) == 1


async def test_mark_invalid_once_then_valid(db: Database, vault: TokenVault):
    repo = CredentialRepo(vault)
    async with db.session() as s:
        cred = await _save(repo, s)
    async with db.session() as s:
        assert await repo.mark_invalid(s, cred.id) is True
        assert await repo.mark_invalid(s, cred.id) is False
    async with db.session() as s:
        assert await repo.mark_invalid(s, cred.id) is False
        c = await repo.get_for_owner(s, 1001)
        assert c is not None and c.invalid_notified is True
        assert c.invalid_since is not None and c.invalid_since.tzinfo is not None
        assert abs(c.invalid_since - datetime.now(timezone.utc)) < timedelta(minutes=1)
    async with db.session() as s:
        assert await repo.mark_valid(s, cred.id) is True
        assert await repo.mark_valid(s, cred.id) is False
        c = await repo.get_for_owner(s, 1001)
        assert c is not None and c.invalid_since is None and c.invalid_notified is False
        assert await repo.mark_invalid(s, cred.id) is True


async def test_throttled_until_roundtrips_tz_aware(db: Database, vault: TokenVault):
    repo = CredentialRepo(vault)
    tehran = timezone(timedelta(hours=3, minutes=30))
    until = datetime(2030, 1, 2, 3, 4, 5, tzinfo=tehran)
    async with db.session() as s:
        cred = await _save(repo, s)
        await repo.set_throttled_until(s, cred.id, until)
    async with db.session() as s:
        c = await repo.get_for_owner(s, 1001)
        assert c is not None and c.throttled_until == until
        assert c.throttled_until.utcoffset() == timedelta(0)


async def test_watch_upsert_get_all_delete(db: Database, vault: TokenVault):
    repo = CredentialRepo(vault)
    async with db.session() as s:
        cid = (await _save(repo, s)).id
        for h in ("s1", "s2", "s3"):
            await WatchRepo.upsert(
                s, cid, kind="server", project_hash="p1", resource_hash=h,
                name=h.upper(), status="active", real_status="running", detail="10.0.0.1",
            )
        await WatchRepo.upsert(
            s, cid, kind="server", project_hash="p2", resource_hash="x1",
            name="X1", status="active", real_status=None, detail=None,
        )
        await WatchRepo.upsert(
            s, cid, kind="lb_backend", project_hash="p1", resource_hash="lb1", sub_key="b1/t1",
            name="web", status="up", real_status=None, detail=None,
        )
    async with db.session() as s:
        # update in place
        await WatchRepo.upsert(
            s, cid, kind="server", project_hash="p1", resource_hash="s1",
            name="S1", status="off", real_status="stopped", detail="10.0.0.9",
        )
        watched = await WatchRepo.get_all(s, cid)
        assert len(watched) == 5
        s1 = watched[("server", "s1", "")]
        assert (s1.status, s1.real_status, s1.detail) == ("off", "stopped", "10.0.0.9")
        assert s1.updated_at.tzinfo is not None
        assert watched[("lb_backend", "lb1", "b1/t1")].name == "web"

        assert await WatchRepo.delete_missing(s, cid, "server", "p1", {"s1"}) == 2
        assert await WatchRepo.delete(s, cid, "lb_backend", "lb1", "b1/t1") is True
        assert await WatchRepo.delete(s, cid, "lb_backend", "lb1", "b1/t1") is False
    async with db.session() as s:
        keys = set(await WatchRepo.get_all(s, cid))
        assert keys == {("server", "s1", ""), ("server", "x1", "")}  # other project untouched
        assert await WatchRepo.delete_missing(s, cid, "server", "p2", set()) == 1
        assert set(await WatchRepo.get_all(s, cid)) == {("server", "s1", "")}


async def test_credential_delete_cascades_watches(db: Database, vault: TokenVault):
    repo = CredentialRepo(vault)
    async with db.session() as s:
        cid = (await _save(repo, s)).id
        other = (await _save(repo, s, owner=2002, token="other-token")).id
        for c in (cid, other):
            await WatchRepo.upsert(
                s, c, kind="server", project_hash="p", resource_hash="h",
                name="n", status=None, real_status=None, detail=None,
            )
        await AuditRepo.record(s, actor_user_id=1001, chat_id=1001, credential_id=cid, action="auth.login")
    async with db.session() as s:
        assert await repo.delete_for_owner(s, 1001) is True
        assert await repo.delete_for_owner(s, 1001) is False
    async with db.session() as s:
        assert await repo.get_for_owner(s, 1001) is None
        assert await WatchRepo.get_all(s, cid) == {}
        assert len(await WatchRepo.get_all(s, other)) == 1
        # audit survives the logout
        assert [e.action for e in await AuditRepo.recent(s, credential_id=cid)] == ["auth.login"]


async def test_move_owner(db: Database, vault: TokenVault):
    repo = CredentialRepo(vault)
    async with db.session() as s:
        cid = (await _save(repo, s, owner=-100, owner_kind="team")).id
        await WatchRepo.upsert(
            s, cid, kind="server", project_hash="p", resource_hash="h",
            name="n", status=None, real_status=None, detail=None,
        )
    async with db.session() as s:
        assert await repo.move_owner(s, -100, -1009) is True
        assert await repo.move_owner(s, -100, -1009) is False
    async with db.session() as s:
        assert await repo.get_for_owner(s, -100) is None
        moved = await repo.get_for_owner(s, -1009)
        assert moved is not None and moved.id == cid and repo.token_of(moved) == TOKEN
        assert len(await WatchRepo.get_all(s, cid)) == 1


async def test_save_for_different_account_drops_old_watches(db: Database, vault: TokenVault):
    repo = CredentialRepo(vault)
    async with db.session() as s:
        cid = (await _save(repo, s)).id
        await WatchRepo.upsert(
            s, cid, kind="server", project_hash="p", resource_hash="h",
            name="n", status=None, real_status=None, detail=None,
        )
        await _save(repo, s, token="rotated-token")  # same account: keep
        assert len(await WatchRepo.get_all(s, cid)) == 1
        await _save(repo, s, token="another-account", account_id=99)
        assert await WatchRepo.get_all(s, cid) == {}


async def test_audit_record_and_recent(db: Database):
    async with db.session() as s:
        for i in range(5):
            await AuditRepo.record(
                s, actor_user_id=1, chat_id=100 if i % 2 == 0 else 200, credential_id=7,
                action=f"server.action{i}", project_hash="p", target=f"srv{i}",
                details={"i": i, "nested": {"ips": ["1.2.3.4"], "fa": "سرور"}},
            )
        await AuditRepo.record(
            s, actor_user_id=1, chat_id=100, credential_id=7, action="server.delete",
            result="error", error="HTTP 500", details={"api_token": "leak?"},
        )
    async with db.session() as s:
        entries = await AuditRepo.recent(s, chat_id=100)
        assert [e.action for e in entries] == [
            "server.delete", "server.action4", "server.action2", "server.action0",
        ]
        assert entries[0].result == "error" and entries[0].error == "HTTP 500"
        assert entries[0].details == {"api_token": "***"}
        assert entries[1].details == {"i": 4, "nested": {"ips": ["1.2.3.4"], "fa": "سرور"}}
        assert entries[1].created_at.tzinfo is not None
        assert len(await AuditRepo.recent(s, credential_id=7, limit=3)) == 3
        assert len(await AuditRepo.recent(s)) == 6
        assert await AuditRepo.recent(s, chat_id=100, credential_id=8) == []


def test_rotate_keys_command(tmp_path: Path):
    """`manageit-bot rotate-keys` re-encrypts with the first key; then the old key can go.
    A token no configured key opens is reported in one line and nothing changes."""
    import asyncio
    import os
    import subprocess
    import sys

    old, new = TokenVault.generate_key(), TokenVault.generate_key()
    url = sqlite_url(tmp_path / "bot.db")

    async def store() -> None:
        await upgrade(url)
        database = Database(url)
        async with database.session() as s:
            await _save(CredentialRepo(TokenVault([old])), s)
        await database.dispose()

    async def read(keys: list[str]) -> str:
        database = Database(url)
        try:
            async with database.session() as s:
                repo = CredentialRepo(TokenVault(keys))
                return repo.token_of(await repo.get_for_owner(s, 1001))
        finally:
            await database.dispose()

    asyncio.run(store())

    def run(keys: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN",)}
        env.update(DATABASE_URL=url, DATA_DIR=str(tmp_path), ENCRYPTION_KEYS=keys)
        return subprocess.run([sys.executable, "-m", "bot", "rotate-keys"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)

    refused = run(TokenVault.generate_key())
    assert refused.returncode == 2 and "cannot be decrypted" in refused.stderr and "Traceback" not in refused.stderr
    assert asyncio.run(read([old])) == TOKEN  # unchanged

    done = run(f"{new},{old}")
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 1 stored token" in done.stdout
    assert asyncio.run(read([new])) == TOKEN
    with pytest.raises(VaultError):
        asyncio.run(read([old]))
