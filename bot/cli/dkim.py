"""``intake dkim``: make a DKIM key pair, and show the DNS record to publish for the configured key.

``intake dkim keygen --out FILE`` writes a new 2048-bit RSA private key (PEM, mode 0600; an
existing file is never overwritten) and prints the TXT record for ``<selector>._domainkey.<domain>``
plus the three ``[smtp]`` lines that turn signing on. ``intake dkim record`` prints the record of
the configured key (``intake doctor`` shows it too). Exit codes: 0 done, 1 refused (file exists,
no key configured), 2 wrong arguments.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from outbox.delivery.dkim import (
    KEY_BITS,
    DkimKeyError,
    generate_private_key,
    txt_record,
    write_private_key,
    zone_line,
)

dkim_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help="DKIM signing of outgoing mail (RFC 6376).")


def _domain_default() -> str:
    from bot.cli.app import _settings

    addr = _settings().outbox.from_addr
    return addr.rsplit("@", 1)[-1].lower() if "@" in addr else ""


@dkim_app.command("keygen")
def keygen(
    out_file: Annotated[
        Path, typer.Option("--out", help="Where to write the private key (PEM, 0600).")
    ],
    selector: Annotated[str, typer.Option(help="The DKIM selector (s=).")] = "intake",
    domain: Annotated[
        str, typer.Option(help="The signing domain (d=) [default: the domain of outbox.from_addr].")
    ] = "",
    bits: Annotated[
        int, typer.Option(help="RSA key size in bits (at least 2048).", min=2048, max=4096)
    ] = KEY_BITS,
) -> None:
    """Make a new RSA key pair for DKIM; print the DNS TXT record and the [smtp] lines to set."""
    from bot.cli.app import err

    domain = (domain or _domain_default()).strip().lower().rstrip(".")
    if not domain:
        err.print("intake dkim keygen: give --domain (outbox.from_addr has no domain)")
        raise typer.Exit(2)
    pem = generate_private_key(bits)
    try:
        write_private_key(out_file, pem)
    except FileExistsError:
        err.print(
            f"intake dkim keygen: {out_file} exists; not overwritten (its public half may be "
            "published). Choose another --out, or remove the old key first.",
            markup=False,
        )
        raise typer.Exit(1) from None
    record = txt_record(pem)
    sys.stdout.write(
        f"wrote {out_file} ({bits}-bit RSA private key, mode 0600)\n\n"
        f"Publish this DNS TXT record at {selector}._domainkey.{domain}:\n"
        f"  {record}\n\nas a zone-file line:\n  {zone_line(selector, domain, record)}\n\n"
        "Then set in the configuration:\n"
        f'  [smtp]\n  dkim_domain = "{domain}"\n  dkim_selector = "{selector}"\n'
        f'  dkim_key_file = "{out_file}"\n'
    )


@dkim_app.command("record")
def record() -> None:
    """Print the DNS TXT record for the configured key ([smtp] dkim_*)."""
    from bot.cli.app import _settings, err

    s = _settings().smtp
    if not s.dkim_enabled or s.dkim_key_file is None:
        err.print(
            "intake dkim record: no DKIM key configured ([smtp] dkim_domain, dkim_selector, "
            "dkim_key_file)", markup=False,
        )
        raise typer.Exit(1)
    try:
        from outbox.delivery.dkim import load_private_key

        value = txt_record(load_private_key(s.dkim_key_file))
    except DkimKeyError as exc:
        err.print(f"intake dkim record: {exc}", markup=False)
        raise typer.Exit(1) from None
    sys.stdout.write(
        f"{s.dkim_selector}._domainkey.{s.dkim_domain} TXT\n  {value}\n"
        f"{zone_line(s.dkim_selector, s.dkim_domain, value)}\n"
    )


def register(app: typer.Typer) -> None:
    """Add the ``dkim`` verb group to the ``intake`` command."""
    app.add_typer(dkim_app, name="dkim")
