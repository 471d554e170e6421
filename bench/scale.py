"""Measurement 4: the ministry's scale, 3,000 dossiers in the store.

The store is filled directly (one real dossier read by the real parsers, cloned with distinct
applicants, 统一社会信用代码 and projects; its files archived once), then timed:

- the limit: reading every current version's facts JSON from SQLite and ``json.loads`` of each
  (the least any cross-dossier judgement must touch);
- decoding them into ``DossierFacts`` (``bot/store/facts_codec.py``);
- ``rules.engine.evaluate`` over all of them (per-dossier and cross-dossier rules);
- ``Pipeline.refresh_verdicts`` (decode + evaluate + write every verdict back), what a batch pays;
- judging one new input against all of them (what each input pays inside a batch);
- ``bot.upstream.packets.build`` (the packet folder) when that module is present, and the packet's zip
  (``outbox.documents.packet.write_part_zip``, to a file) against ``zip -0`` on the same files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
import subprocess
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.inputs import form_data
from bench.instance import make_instance
from bench.stats import Summary
from bot.store.database import Store
from bot.store.facts_codec import dumps_facts, loads_facts
from outbox.mail.tracking import make_tracking
from parsers.facts import DossierFacts
from parsers.inputs import read_input
from parsers.materials import ParseOptions
from tests.factories import make_dossier_dir


@dataclass
class ScaleResult:
    """Seconds per repeat of each step over ``n`` dossiers (see the module docstring)."""

    n: int
    steps: dict[str, Summary] = field(default_factory=dict)
    packet_bytes: int | None = None
    note: str = ""

    def ratio(self, step: str, limit: str = "limit_read_json") -> float:
        return self.steps[limit].median / self.steps[step].median

    def to_json(self) -> dict:
        out: dict = {"n": self.n, "steps": {k: v.to_json() for k, v in self.steps.items()}}
        if "zip_packet" in self.steps and "zip_0" in self.steps:
            out["zip_ratio"] = self.ratio("zip_packet", "zip_0")
        out["packet_bytes"] = self.packet_bytes
        out["note"] = self.note
        return out


def base_dossier(tmp: Path) -> DossierFacts:
    """One real dossier (form, 5-page scan, 6-minute video) read by the real parsers."""
    folder = make_dossier_dir(tmp / "base" / "01-示例", form_data(0), video_s=360.0)
    return read_input(folder, tmp / "base-work", options=ParseOptions())[0]


def _distinct_form(form: bytes, i: int) -> bytes:
    """The same .docx with its own zip comment: distinct bytes (sha256), same content."""
    buf = io.BytesIO(form)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.comment = f"bench clone {i}".encode()
    return buf.getvalue()


def _put_blob(store: Store, data: bytes) -> str:
    """Write a blob straight into the archive layout (no fsync: this is test setup)."""
    sha = hashlib.sha256(data).hexdigest()
    path = store.archive.path_for(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return sha


def fill_store(store: Store, base: DossierFacts, n: int) -> None:
    """``n`` accepted dossiers cloned from ``base``: distinct names, 统一社会信用代码, senders and
    form files (so no cross-dossier rule fires), the scan and video shared and archived once."""
    for m in base.materials:
        if m.path is not None and m.path.is_file():
            store.archive.put_file(m.path)
    form = next(m for m in base.materials if m.role == "application_form")
    form_bytes = form.path.read_bytes()
    now = "2023-11-29T10:00:00+08:00"
    with store.transaction() as conn:
        for i in range(n):
            fd = form_data(10000 + i)
            blob = _distinct_form(form_bytes, i)
            own_form = dataclasses.replace(form, sha256=_put_blob(store, blob), size=len(blob))
            facts = dataclasses.replace(
                base, source=f"mail:<scale-{i}@example.com>", project_name=fd.project_name,
                applicant=fd.applicant, uscc=fd.uscc, sender=fd.email,
                contact=dataclasses.replace(base.contact, email=fd.email),
                materials=[own_form if m is form else m for m in base.materials],
            )  # fmt: skip
            text = dumps_facts(facts)
            cur = conn.execute(
                "INSERT INTO inputs(source, kind, name, sha256, size, taken_at, state)"
                " VALUES('folder','folder',?,?,0,?,'processed')",
                (f"scale-{i}", f"{i:064x}", now),
            )
            input_id = cur.lastrowid
            cur = conn.execute(
                "INSERT INTO dossiers(tracking, applicant, uscc, project_name, category, direction,"
                " sender, created_at, current_version, verdict) VALUES(?,?,?,?,?,?,?,?,1,'accepted')",
                (make_tracking("IIP2023", "420100", i + 1), facts.applicant, facts.uscc, facts.project_name,
                 facts.category, facts.direction, fd.email, now),
            )  # fmt: skip
            conn.execute(
                "INSERT INTO versions(dossier_id, version, input_id, part, facts, findings, verdict,"
                " created_at) VALUES(?,1,?,0,?,'[]','accepted',?)",
                (cur.lastrowid, input_id, text, now),
            )


def _timed(fn, repeats: int) -> Summary:
    values = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        values.append(time.perf_counter() - t0)
    return Summary(values)


def measure(n: int, repeats: int, tmp: Path, *, packet: bool = True) -> ScaleResult:
    """Fill a store with ``n`` dossiers and time each step ``repeats`` times."""
    from bot.processing.pipeline import Pipeline
    from rules.campaign import load_campaign
    from rules.engine import evaluate

    inst = make_instance(tmp / f"scale-{n}")
    settings = inst.settings()
    store = Store.open(settings.store.db_path, settings.store.archive_dir)
    campaign = load_campaign(settings.campaign.profile)
    base = base_dossier(tmp / f"scale-{n}-base")
    fill_store(store, base, n)
    result = ScaleResult(n)
    now = settings.campaign.now

    def read_json() -> list:
        return [json.loads(r[0]) for r in store.conn.execute(
            "SELECT v.facts FROM dossiers d JOIN versions v ON v.dossier_id=d.id"
            " AND v.version=d.current_version")]  # fmt: skip

    texts = [v["facts"] for _, v in store.current_versions()]
    facts = [loads_facts(t) for t in texts]
    result.steps["limit_read_json"] = _timed(read_json, repeats)
    result.steps["decode_facts"] = _timed(lambda: [loads_facts(t) for t in texts], repeats)
    result.steps["evaluate"] = _timed(
        lambda: evaluate(facts, campaign, level=settings.office.level, now=now), repeats
    )

    def refresh() -> None:
        pipeline = Pipeline(settings, store, campaign)  # cold: decodes every version
        with store.transaction():
            pipeline.refresh_verdicts()

    result.steps["refresh_verdicts"] = _timed(refresh, repeats)
    warm = Pipeline(settings, store, campaign)
    with store.transaction():
        warm.refresh_verdicts()  # decoded facts cached, as inside a batch
    new = dataclasses.replace(base, source="mail:<scale-new@example.com>", project_name="新项目")
    result.steps["judge_one_input"] = _timed(lambda: warm._judge([new], set()), repeats)
    if packet:
        _packet_steps(result, settings, store, campaign, tmp / f"scale-{n}-packet", repeats)
    store.close()
    return result


def _packet_steps(result: ScaleResult, settings, store: Store, campaign, out: Path, repeats: int) -> None:
    """``intake packet build`` and its zip vs ``zip -0``, when bot/upstream/packets.py is there."""
    try:
        from bot.upstream import packets
        from outbox.documents.packet import read_manifest, split_parts, write_part_zip
    except ImportError as exc:
        result.note = f"packet not measured: {exc}"
        return
    built: list = []

    def build() -> None:
        shutil.rmtree(out, ignore_errors=True)
        built.append(packets.build(settings, store, campaign, out))

    try:
        result.steps["packet_build"] = _timed(build, max(1, repeats - 1))
    except Exception as exc:  # noqa: BLE001 - a module in progress must not stop the suite
        result.note = f"packet build failed: {type(exc).__name__}: {exc}"
        return
    packet_dir = _packet_dir(built[-1], out)
    manifest = read_manifest(packet_dir)
    (pieces,) = split_parts(manifest, 1 << 62)  # one part: the whole packet in one zip
    size = sum(p.stat().st_size for p in packet_dir.rglob("*") if p.is_file())
    result.packet_bytes = size
    zipped = out.parent / "zip0.zip"

    def zip0() -> None:
        zipped.unlink(missing_ok=True)
        subprocess.run(["zip", "-0", "-q", "-r", str(zipped), "."], cwd=packet_dir, check=True)

    ours_zip = out.parent / "ours.zip"

    def ours() -> None:  # file to file, as zip -0 does
        ours_zip.unlink(missing_ok=True)
        write_part_zip(packet_dir, pieces, ours_zip)

    result.steps["zip_0"] = _timed(zip0, repeats)
    result.steps["zip_packet"] = _timed(ours, repeats)
    zipped.unlink(missing_ok=True)
    ours_zip.unlink(missing_ok=True)


def _packet_dir(built, out: Path) -> Path:
    for attr in ("dir", "packet_dir", "path", "folder"):
        value = getattr(built, attr, None)
        if isinstance(value, Path) and value.is_dir():
            return value
    found = [p.parent for p in out.rglob("manifest.json")]
    if not found:
        raise RuntimeError("no packet folder (manifest.json) under " + str(out))
    return found[0]
