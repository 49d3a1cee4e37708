"""Evaluates CEL expressions as KFP's driver would (cel-python; KFP's
driver uses cel-go with the `parseJson` function added,
backend/src/v2/expression/expression.go).

Usage: cel_eval.py CASES_JSON
CASES_JSON: a list of {"expr": ..., "vars": {...}, "expect": ...}; `vars`
are the CEL variables (`inputs` for a condition, `string_value` for a
selector). Prints each case that differs and exits 1 if any does.
"""
import json
import sys

import celpy


def main():
    env = celpy.Environment()
    functions = {'parseJson': lambda s: celpy.json_to_cel(json.loads(str(s)))}
    failed = False
    for case in json.loads(sys.argv[1]):
        program = env.program(env.compile(case['expr']), functions=functions)
        got = program.evaluate({k: celpy.json_to_cel(v) for k, v in case['vars'].items()})
        if isinstance(got, celpy.celtypes.BoolType):
            got = bool(got)
        elif isinstance(got, celpy.celtypes.StringType):
            got = str(got)
        if got != case['expect']:
            failed = True
            print('%s with %s: got %r, expected %r' % (case['expr'], case['vars'], got, case['expect']))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
