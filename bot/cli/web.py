"""``intake web``: serve the officers' web desk; ``intake web passwd NAME``: set a login.

The desk reads and writes the same store as the daemon (SQLite WAL), so it runs beside
``intake run``. It listens on ``[web] listen``:``port`` (127.0.0.1:8470 by default); put nginx in
front for the LAN (README, "The web desk").
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Optional

import typer

web_app = typer.Typer(
    rich_markup_mode=None,  # help is plain text: "[smtp] dkim_*", "[default: …]" stay as written
    help="The officers' web desk: `intake web` serves it; `intake web passwd NAME` sets a login.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@web_app.callback()
def serve(
    ctx: typer.Context,
    listen: Annotated[Optional[str], typer.Option("--listen", help="Address (default: web.listen of the config).")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option("--port", help="Port (default: web.port of the config).")] = None,  # noqa: UP045
) -> None:
    """Serve the desk until interrupted (uvicorn; Ctrl-C or SIGTERM stops it)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from bot.cli.app import _settings, err
    from bot.web.app import create_app

    settings = _settings()
    if not settings.office.officers and not settings.web.user_header:
        err.print("intake web: no [office] officers configured: nobody can log in", markup=False)
    host, p = listen or settings.web.listen, port or settings.web.port
    app = create_app(settings)
    err.print(f"intake web: serving the desk on http://{host}:{p}/ (store {settings.store.data_dir})",
              markup=False)  # fmt: skip
    try:
        uvicorn.run(app, host=host, port=p, log_level="info", proxy_headers=False,
                    server_header=False)  # fmt: skip
    finally:
        app.state.desk.close()


@web_app.command("passwd")
def passwd(
    name: Annotated[str, typer.Argument(help="The officer's name or email, as in [office] officers.")],
    print_only: Annotated[
        bool,
        typer.Option("--print", help="Print the hash for password_hash in the config; store nothing."),
    ] = False,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Set an officer's web desk password (argon2id hash in <data_dir>/web/passwords.json)."""
    from bot.cli.app import _settings, err
    from bot.web.auth import AuthError, find_officer, hash_password, set_password

    settings = _settings()
    if find_officer(settings, name) is None:
        err.print(f"intake web passwd: no officer named {name!r} in [office] officers", markup=False)
        raise typer.Exit(1)
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("新密码：")
        if getpass.getpass("再输入一次：") != password:
            err.print("intake web passwd: the two passwords differ; nothing changed", markup=False)
            raise typer.Exit(1)
    try:
        if print_only:
            sys.stdout.write(hash_password(password) + "\n")
            return
        path = set_password(settings, name, password)
    except AuthError as exc:
        err.print(f"intake web passwd: {exc}", markup=False)
        raise typer.Exit(1) from None
    sys.stdout.write(f"password of {name} stored in {path}\n")


def register(app: typer.Typer) -> None:
    """Add ``web`` (and ``web passwd``) to the ``intake`` command."""
    app.add_typer(web_app, name="web")
