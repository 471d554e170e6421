"""CLI verbs for packet signing keys: ``intake keys init`` and ``intake keys show``.

The key exchange happens once, at setup: each instance runs ``intake keys init``, then gives the
line printed by ``intake keys show`` to the level above (by a channel both trust: in person, on
the phone reading it back, or a signed letter), which lists it under ``[[packet.senders]]``.
"""

from __future__ import annotations

from typing import Annotated

import typer

keys_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help="This instance's packet signing key (Ed25519).")


@keys_app.command("init")
def keys_init(
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace an existing key (the level above must then be given the new public key).",
        ),
    ] = False,
) -> None:
    """Create this instance's key pair (private key file 0600) and print the public key."""
    from bot.cli.app import _settings, err, out
    from outbox.documents.signing import SigningError, init_key, key_path, public_key_text

    settings = _settings()
    path = key_path(settings)
    try:
        key = init_key(path, force=force)
    except (SigningError, OSError) as exc:
        err.print(f"intake keys init: {exc}", markup=False)
        raise typer.Exit(1) from exc
    out.print(
        f"private key written to {path} (mode 0600; keep it, back it up with the store)",
        markup=False,
    )
    out.print(
        "public key (give this line to the level above, for its [[packet.senders]]):", markup=False
    )
    out.print(public_key_text(key.public_key()), markup=False, soft_wrap=True)


@keys_app.command("show")
def keys_show() -> None:
    """Print this instance's public key and the config lines the level above adds."""
    from bot.cli.app import _settings, err, out
    from outbox.documents.signing import SigningError, key_path, load_key, public_key_text

    settings = _settings()
    try:
        key = load_key(key_path(settings))
    except SigningError as exc:
        err.print(f"intake keys show: {exc}", markup=False)
        raise typer.Exit(1) from exc
    public = public_key_text(key.public_key())
    out.print(public, markup=False, soft_wrap=True)
    out.print("\n# for the level above (config.toml):\n"
              "# add this block at the end of its file, delete the line `senders = []` under\n"
              "# [packet] if it has one, and add the address to its [office] downstream_senders",
              markup=False)
    out.print(
        f'[[packet.senders]]\nunit = "{settings.office.unit}"\npublic_key = "{public}"\n'
        f'address = "{settings.outbox.from_addr}"  # this office\'s address: its packets come From it',
        markup=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``intake keys …`` to ``app``."""
    app.add_typer(keys_app, name="keys")
