"""RunResult -> JUnit XML: one test case per rule, so CI systems list each check.

``fail`` becomes <failure>, ``error`` <error>; ``warn`` passes with the message in
<system-out>, because a warning does not fail the gate.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dqgate.report.console import expected_text, observed_text, sample_text
from dqgate.runners.results import RunResult


def render(result: RunResult) -> str:
    dataset = result.contract["dataset"]
    suites = ET.Element("testsuites", name="dqgate")
    suite = ET.SubElement(
        suites, "testsuite",
        name=dataset, tests=str(len(result.checks)),
        failures=str(sum(c.status == "fail" for c in result.checks)),
        errors=str(sum(c.status == "error" for c in result.checks)),
        skipped="0", time=f"{result.elapsed_s:.3f}",
    )  # fmt: skip
    props = ET.SubElement(suite, "properties")
    for key, value in (("source", result.source["uri"]), ("rows", result.rows), ("contract_sha256", result.contract["sha256"])):
        ET.SubElement(props, "property", name=key, value=str(value))
    for c in result.checks:
        case = ET.SubElement(suite, "testcase", classname=f"dqgate.{dataset}", name=c.id, time="0")
        detail = f"{c.message}\nobserved: {observed_text(c)}\nexpected: {expected_text(c)}"
        if c.sample:
            detail += f"\nsample: {sample_text(c, limit=5)}"
        if c.status == "fail":
            ET.SubElement(case, "failure", message=c.message, type=c.rule).text = detail
        elif c.status == "error":
            ET.SubElement(case, "error", message=c.message, type=c.rule).text = detail
        elif c.status == "warn":
            ET.SubElement(case, "system-out").text = f"WARN {detail}"
        elif c.status == "info":  # recorded only: a passing test case that says what was seen
            ET.SubElement(case, "system-out").text = f"INFO {detail}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
