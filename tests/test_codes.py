import pytest

from govmedia.synthetic import credit_code
from registry.codes import city_of, credit_code_problem, region_code_problem


@pytest.mark.parametrize(
    "code",
    ["91330100799655058B", "9144030071526726XG", "91110000600037341L", credit_code("某单位")],
)
def test_valid_credit_codes(code: str) -> None:
    assert credit_code_problem(code) is None


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91330100799655058C", "校验位错误"),
        ("9133010079965505", "应为18位"),
        ("9133010079965505IB", "非法字符"),
    ],
)
def test_invalid_credit_codes(code: str, problem: str) -> None:
    message = credit_code_problem(code)
    assert message is not None and problem in message


@pytest.mark.parametrize(
    ("code", "ok"), [("510104", True), ("51010", False), ("051010", False), ("51010a", False)]
)
def test_region_codes(code: str, ok: bool) -> None:
    assert (region_code_problem(code) is None) is ok


def test_city_of() -> None:
    assert city_of("511822") == "511800"
