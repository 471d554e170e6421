"""``python -m bot.cli``: the same as the ``intake`` console script."""

from bot.cli.main import main

main()
