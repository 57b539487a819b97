#!/usr/bin/env python3
"""Validate confine run reports against docs/report.schema.json (JSON Schema draft 2020-12).

Usage: validate-report.py SCHEMA REPORT...

Exit status: 0 every report is valid; 1 at least one report is invalid (not JSON, or fails the
schema); 2 usage error, unreadable file, or the schema itself is not a valid 2020-12 schema.
Needs Debian's python3-jsonschema (>= 4.0 for draft 2020-12).
"""
import json
import sys

try:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
except ImportError:
    print("validate-report.py: python3-jsonschema is not installed (apt-get install python3-jsonschema)",
          file=sys.stderr)
    sys.exit(2)


def strict_object(pairs):
    # The JSON RFC leaves duplicate keys undefined; a report must not rely on either reading.
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicate keys: {', '.join(duplicates)}")
    return dict(pairs)


def reject_constant(name):
    # Python's json accepts NaN and Infinity; JSON does not.
    raise ValueError(f"{name} is not JSON")


def load(path):
    with open(path, encoding="utf-8") as stream:
        return json.load(stream, object_pairs_hook=strict_object, parse_constant=reject_constant)


def location(error):
    return "/" + "/".join(str(part) for part in error.absolute_path)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        schema = load(argv[1])
        Draft202012Validator.check_schema(schema)
    except (OSError, ValueError) as error:
        print(f"{argv[1]}: cannot load schema: {error}", file=sys.stderr)
        return 2
    except SchemaError as error:
        print(f"{argv[1]}: not a valid draft 2020-12 schema: {error.message}", file=sys.stderr)
        return 2
    validator = Draft202012Validator(schema)

    status = 0
    for path in argv[2:]:
        try:
            document = load(path)
        except OSError as error:
            print(f"{path}: cannot read: {error}", file=sys.stderr)
            return 2
        except ValueError as error:  # includes json.JSONDecodeError and UnicodeDecodeError
            print(f"{path}: not valid JSON: {error}")
            status = 1
            continue
        errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
        for error in errors:
            print(f"{path}: {location(error)}: {error.message}")
        if errors:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
