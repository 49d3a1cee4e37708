"""The metric gate's number formatting (`fixed_point` in
src/emit/scripts/mlflow_metrics.py), alone: every value comes out as a
govaluate number that reads back as the same float. No server needed."""
import ast
import math
import random
import re
import struct
import sys
from decimal import Decimal
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "src" / "emit" / "scripts" / "mlflow_metrics.py"
GOVALUATE_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def load():
    tree = ast.parse(SCRIPT.read_text())
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "fixed_point"]
    assert fn, "mlflow_metrics.py defines fixed_point"
    namespace = {"math": math, "sys": sys, "Decimal": Decimal}
    exec(compile(ast.Module(body=fn, type_ignores=[]), str(SCRIPT), "exec"), namespace)
    return namespace["fixed_point"]


fixed_point = load()


@pytest.mark.parametrize("value,text", [
    (1e-05, "0.00001"), (123.5, "123.5"), (-0.25, "-0.25"), (0.1, "0.1"), (2.0, "2.0"),
    (0.0, "0.0"), (-0.0, "0.0"), (1e16, "10000000000000000"), (1e300, "1" + "0" * 300),
    (float("inf"), "17976931348623157" + "0" * 292), ("Infinity", "17976931348623157" + "0" * 292),
    (float("-inf"), "-17976931348623157" + "0" * 292), ("-Infinity", "-17976931348623157" + "0" * 292),
    (5e-324, "0." + "0" * 323 + "5"),
])
def test_known_values(value, text):
    assert fixed_point(value) == text


@pytest.mark.parametrize("value", [float("nan"), "NaN"])
def test_nan_has_no_number(value):
    assert fixed_point(value) is None


def test_random_floats_round_trip():
    rng = random.Random(10)
    for _ in range(20000):
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isnan(x) or math.isinf(x):
            continue
        text = fixed_point(x)
        assert GOVALUATE_NUMBER.fullmatch(text), text
        assert float(text) == x
        # The shortest: as many significant digits as repr needs.
        assert Decimal(text).normalize() == Decimal(repr(x)).normalize()
