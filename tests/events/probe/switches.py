"""Files in ``PROBE_DIR`` that steer the probe's processors and record their runs.

Plain files, so the test process (which does not install the probe app) and
every worker see the same switches::

    (probe_dir / HOLD).touch()       # processors wait on events with "hold"
    (probe_dir / CURED).touch()      # poison events stop failing
"""

# One line per execution: "<processor> <event id> <number> <pid>".
EXECUTIONS = "executions.log"
HOLD = "hold"
CURED = "cured"


def sequence_number(key: int, seq: int) -> int:
    """The number a sequenced event's executions are logged under."""
    return key * 100_000 + seq
