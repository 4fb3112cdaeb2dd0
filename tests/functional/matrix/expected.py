"""Cases of the fault matrix expected to fail, each for a defect not fixed
yet: case id (cases.case_id) -> (defect, reason).

They run as ``xfail(strict=True)``: a fix that makes one pass fails the
suite until its entry is removed here, so the list only shrinks.  Defects
are named by issue 11's numbered list ("11.8": retried creates duplicate).
"""

FAILURES = {
}
