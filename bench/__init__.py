"""Benchmarks of the kit against raw baselines (not tests; run ``make bench``).

Each figure is a ratio measured in one run against a hand-written baseline
doing the same work, so that the machine's speed cancels out::

    make bench                      # prints a table, writes bench/results.json
    .venv/bin/python bench/run.py --quick
"""
