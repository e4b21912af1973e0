"""Escalation risk: ``config`` (settings), ``rules`` (forcing rules), ``baseline`` (keyword rules),
``levels``, ``reasons`` and ``assess`` (level and reasons of one call). Import the submodules directly."""
