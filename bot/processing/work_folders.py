"""Work folders of finished inputs, removed beside the processing thread, not on it.

Removing an input's work folders (its materialised copy, the files its parse wrote) took about
5 ms of the processing thread per small mail: each unlink and rmdir waits for the file system's
journal, which the commits' fsyncs hold. The processing thread now only renames each folder
into ``<work_dir>/.discarded/`` (one rename, so the input's folder names are free again at once:
a retry of the same input never meets a half-removed folder), and one cleaner thread removes
what is there. Folders left there by a crash are removed when the next ``WorkFolders`` starts.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

log = logging.getLogger("intake.pipeline")

DISCARDED = ".discarded"


class WorkFolders:
    """Discards the work folders under ``root`` (the ``[store] work_dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cleaner = ThreadPoolExecutor(1, thread_name_prefix="work-cleaner")  # no thread until used
        leftover = root / DISCARDED
        if leftover.is_dir():
            for folder in leftover.iterdir():
                self._remove_later(folder)

    def discard(self, *folders: Path) -> None:
        """Move each existing folder of ``folders`` aside now; it is removed on the cleaner thread.

        Where the rename fails (another file system, a permission), the folder is removed here.
        Never raises.
        """
        for folder in folders:
            if not folder.exists():
                continue
            aside = self.root / DISCARDED / f"{folder.name}-{uuid.uuid4().hex[:12]}"
            try:
                aside.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.rename(folder, aside)
            except OSError as exc:
                log.debug("work folder %s removed in place: %s", folder, exc)
                shutil.rmtree(folder, ignore_errors=True)
                continue
            self._remove_later(aside)

    def _remove_later(self, folder: Path) -> None:
        try:
            self._cleaner.submit(shutil.rmtree, folder, True)
        except RuntimeError:  # closed: removed here
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        """Wait until every discarded folder is removed; later ones are removed in place."""
        self._cleaner.shutdown(wait=True)
