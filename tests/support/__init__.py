"""Trial and helper code shared by the tests and by scripts/ (not collected as tests).

scripts/fault_suite.py, fault_crashes.py, fault_outage.py and bench_http.py import from
here, never from a test module.
"""
