#!/usr/bin/env python3
"""Judges what guest-suite.sh left in the results directory and prints a summary.

    summarize.py RESULTS_DIR EXPECTED_TESTS

Exit status 0 only if: the smoke checks did what they must (/bin/true ran with the memory and pids
limits enforced; memhog under --memory 32M ended in the OOM killer), and the gtest XML shows
exactly EXPECTED_TESTS tests run with no failure, error or skip. A missing file is a failure.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f), None
    except (OSError, ValueError) as e:
        return None, str(e)


def enforcement(report, name):
    for entry in report.get("enforced", []):
        if entry.get("name") == name:
            return entry.get("status"), entry.get("detail", "")
    return None, "absent from the report"


def main():
    results, expected = sys.argv[1], int(sys.argv[2])
    problems = []

    steps = {}
    try:
        with open(os.path.join(results, "steps.txt"), encoding="utf-8") as f:
            for line in f:
                name, _, status = line.strip().partition(" ")
                steps[name] = int(status)
    except (OSError, ValueError) as e:
        problems.append(f"steps.txt unreadable: {e}")

    print("== smoke checks")
    true_report, err = load_json(os.path.join(results, "smoke-true.json"))
    if true_report is None:
        problems.append(f"smoke-true: no report ({err})")
    else:
        print(f"confine run -p policies/default.toml -- /bin/true: exit {steps.get('smoke-true')}, "
              f"outcome {true_report.get('outcome')}")
        if steps.get("smoke-true") != 0 or true_report.get("outcome") != "ok":
            problems.append("smoke-true: /bin/true did not end ok with exit 0")
        for name in ("memory_limit", "swap_limit", "pids_limit", "cgroup_tracking"):
            status, detail = enforcement(true_report, name)
            print(f"  {name}: {status} ({detail})")
            if name != "swap_limit" and status != "enforced":
                problems.append(f"smoke-true: {name} is {status}, not enforced: {detail}")
        for warning in true_report.get("warnings", []):
            print(f"  warning: {warning}")

    if steps.get("smoke-sleep") != 0:
        problems.append(f"smoke-sleep (used to read a live leaf's controllers) exited {steps.get('smoke-sleep')}")

    doctor, err = load_json(os.path.join(results, "doctor.json"))
    if doctor is None:
        problems.append(f"doctor: no JSON ({err})")
    else:
        print(f"confine doctor: exit {steps.get('doctor')}, fully_enforced {doctor.get('fully_enforced')}")
        if steps.get("doctor") != 0 or doctor.get("fully_enforced") is not True:
            problems.append("doctor: the VM has every controller, yet doctor did not call the default policy fully enforced")
    print(f"scripts/soak.sh 60 (OOM runs included): exit {steps.get('soak')}")
    if steps.get("soak") != 0:
        problems.append("soak: leftovers, a leak or a wrong outcome (the guest log has soak.sh's figures)")
    hog, err = load_json(os.path.join(results, "smoke-memhog.json"))
    if hog is None:
        problems.append(f"smoke-memhog: no report ({err})")
    else:
        resources = hog.get("resources", {})
        print(f"confine run --memory 32M -- confine-probe memhog 256: exit {steps.get('smoke-memhog')}, "
              f"outcome {hog.get('outcome')}, limits_hit {hog.get('limits_hit')}, "
              f"memory_peak_bytes {resources.get('memory_peak_bytes')}, "
              f"oom_kills {resources.get('counters', {}).get('oom_kills')}")
        status, detail = enforcement(hog, "memory_limit")
        print(f"  memory_limit: {status} ({detail})")
        if hog.get("outcome") != "oom" or steps.get("smoke-memhog") != 137:
            problems.append(f"smoke-memhog: expected outcome oom and exit 137, got {hog.get('outcome')} "
                            f"and exit {steps.get('smoke-memhog')} (memory_limit {status}: {detail})")

    print("== cgroups seen in the guest (read only; the harness enables nothing)")
    try:
        with open(os.path.join(results, "cgroups.txt"), encoding="utf-8") as f:
            print(f.read().rstrip())
    except OSError as e:
        print(f"cgroups.txt unreadable: {e}")

    print("== integration tests")
    xml_path = os.path.join(results, "integration.xml")
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError) as e:
        problems.append(f"integration: no gtest XML at {xml_path} ({e}); "
                        f"integration_tests exited {steps.get('integration')}")
        root = None
    if root is not None:
        ran = failed = skipped = 0
        for case in root.iter("testcase"):
            if case.get("status") == "notrun":
                continue
            ran += 1
            name = f"{case.get('classname')}.{case.get('name')}"
            failures = case.findall("failure") + case.findall("error")
            if failures:
                failed += 1
                verdict = "FAILED"
            elif case.get("result") == "skipped" or case.find("skipped") is not None:
                skipped += 1
                verdict = "SKIPPED"
            else:
                verdict = "ok"
            print(f"  {verdict:7} {name} ({case.get('time')}s)")
            for failure in failures:
                for line in (failure.get("message") or "").splitlines()[:12]:
                    print(f"          | {line}")
        print(f"ran {ran}, failed {failed}, skipped {skipped}; expected {expected}; "
              f"integration_tests exited {steps.get('integration')}")
        if ran != expected:
            problems.append(f"integration: {ran} tests ran, {expected} expected")
        if failed:
            problems.append(f"integration: {failed} of {ran} tests failed")
        if skipped:
            problems.append(f"integration: {skipped} tests skipped (the VM must run them all)")
        if steps.get("integration") != 0 and not failed:
            problems.append(f"integration: integration_tests exited {steps.get('integration')} "
                            f"with no failure in its XML")

    print("== verdict")
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print("PASS: smoke checks and all cgroup-v2 integration tests passed in the VM")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
