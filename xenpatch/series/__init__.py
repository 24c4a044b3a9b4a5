"""Commits and mailing-list patch series (issue 4).

Public entry points:

- :func:`xenpatch.git.commit_files` — one commit from in-memory files.
- :func:`xenpatch.series.message.render_commit_message` — a rule's commit
  message from ``templates/commit-message.j2``.
- :func:`xenpatch.series.series.build` / :func:`~xenpatch.series.series.write`
  — the series in memory, then on disk (``xenpatch series`` in cli.py).
- :func:`xenpatch.series.check.check` — ``git am`` + lint findings + build in
  a clone; the commits git am makes compared with the originals.
- :func:`xenpatch.series.collect.apply` — trailers of saved replies
  (:mod:`~xenpatch.series.trailers` reads and places them) onto the commits.
- :class:`xenpatch.series.maintainers.Maintainers` — MAINTAINERS as
  get_maintainer.pl reads it.

Every pygit2 call and every ``git`` subprocess is in :mod:`xenpatch.git`; every piece of
mail text comes from ``templates/mail/*.j2``.
"""
