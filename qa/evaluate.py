"""The evaluator for question sets in the `../shared/eval/README.md` format (one JSON object a line)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kb import RoadmapError
from qa.answer import Answer
from qa.assistant import Assistant

CHECKS = ("top", "prereq", "next", "oos", "compared", "assumed")
MRR_DEPTH = 5


class EvalFileError(RoadmapError):
    """A question file that cannot be read: names the file, the line and the problem."""


@dataclass(frozen=True)
class Case:
    q: str
    check: str
    expect: str | list[str] = ""  # a list of patterns for "compared"
    history: list[str] = field(default_factory=list)
    intent: str | None = None  # the answer's intent must equal it
    not_: str | None = None  # with prereq/next: no listed title may match it


@dataclass(frozen=True)
class Outcome:
    case: Case
    passed: bool
    rank: int | None  # 1-based rank of the first matching passage title (top checks), within MRR_DEPTH
    got: dict[str, Any]


def load_cases(path: str | Path) -> list[Case]:
    p = Path(path)
    if not p.is_file():
        raise EvalFileError(f"{p}: no such question file")
    cases = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalFileError(f"{p}:{n}: not a JSON object ({e.msg})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("q"), str):
            raise EvalFileError(f"{p}:{n}: each line needs a 'q' string")
        if raw.get("check") not in CHECKS:
            raise EvalFileError(f"{p}:{n}: 'check' must be one of {', '.join(CHECKS)}")
        expect = raw.get("expect") or ""  # an `oos` line may leave it out or write null
        if raw["check"] == "compared":
            if not (isinstance(expect, list) and len(expect) >= 2 and all(isinstance(x, str) for x in expect)):
                raise EvalFileError(f"{p}:{n}: a 'compared' check needs 'expect': a list of two or more patterns")
        elif raw["check"] != "oos" and not isinstance(expect, str):
            raise EvalFileError(f"{p}:{n}: a '{raw['check']}' check needs an 'expect' pattern")
        for key in ("intent", "not"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise EvalFileError(f"{p}:{n}: '{key}' must be a string")
        try:
            for pattern in [*(expect if isinstance(expect, list) else [expect]), raw.get("not") or ""]:
                re.compile(pattern)
        except re.error as e:
            raise EvalFileError(f"{p}:{n}: 'expect' or 'not' is not a regular expression ({e})") from None
        history = raw.get("history", [])
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise EvalFileError(f"{p}:{n}: 'history' must be a list of strings")
        cases.append(Case(raw["q"], raw["check"], expect, history, raw.get("intent"), raw.get("not")))
    if not cases:
        raise EvalFileError(f"{p}: no questions in the file")
    return cases


_LISTS = {"prereq": "prerequisites", "next": "next_topics", "compared": "compared", "assumed": "assumed_known"}


def judge(case: Case, ans: Answer) -> Outcome:
    titles = [p.title for p in ans.passages]
    got: dict[str, Any] = {"confident": ans.confident, "intent": ans.intent, "passages": titles[:3]}
    rank = None
    if case.check == "oos":
        return Outcome(case, not ans.confident, None, got)
    if case.check == "top":
        pattern = re.compile(str(case.expect), re.IGNORECASE)
        rank = next((i for i, t in enumerate(titles[:MRR_DEPTH], 1) if pattern.search(t)), None)
        passed = rank == 1
    else:
        listed = [t["title"] for t in getattr(ans, _LISTS[case.check])]
        got[_LISTS[case.check]] = listed
        patterns = case.expect if isinstance(case.expect, list) else [case.expect]
        passed = all(any(re.search(p, t, re.IGNORECASE) for t in listed) for p in patterns)
        if case.not_:
            passed = passed and not any(re.search(case.not_, t, re.IGNORECASE) for t in listed)
    if case.intent is not None:
        passed = passed and ans.intent == case.intent
    return Outcome(case, passed and ans.confident, rank if ans.confident else None, got)


def evaluate(bot: Assistant, cases: list[Case]) -> dict[str, Any]:
    """Each figure of the eval README, the count behind it, and the failures."""
    outcomes = [judge(c, bot.ask(c.q, history=c.history)) for c in cases]
    by = {k: [o for o in outcomes if o.case.check == k] for k in CHECKS}
    top = by["top"]

    def share(xs: list[bool]) -> dict[str, Any]:
        return {"value": round(sum(xs) / len(xs), 4) if xs else None, "n": len(xs), "hits": sum(xs)}

    in_scope = [o for o in outcomes if o.case.check != "oos"]
    metrics = {
        "Hit@1": share([o.rank == 1 for o in top]),
        "Hit@3": share([o.rank is not None and o.rank <= 3 for o in top]),
        "MRR": {"value": round(sum(1 / o.rank for o in top if o.rank) / len(top), 4) if top else None, "n": len(top)},
        "prereq": share([o.passed for o in by["prereq"]]),
        "next": share([o.passed for o in by["next"]]),
        "compared": share([o.passed for o in by["compared"]]),
        "assumed": share([o.passed for o in by["assumed"]]),
        "oos": share([o.passed for o in by["oos"]]),
        "confident": share([o.got["confident"] for o in in_scope]),
        "all": share([o.passed for o in outcomes]),
    }
    failures = [
        {"q": o.case.q, "check": o.case.check, "expect": o.case.expect, "history": o.case.history, "got": o.got}
        for o in outcomes
        if not o.passed
    ]
    return {"retriever": bot.mode, "questions": len(cases), "metrics": metrics, "failures": failures}


def format_report(report: dict[str, Any], verbose: bool = False) -> str:
    lines = [f"retriever: {report['retriever']}  questions: {report['questions']}"]
    for name, m in report["metrics"].items():
        if m["value"] is None:
            lines.append(f"{name:<10} n/a")
        elif "hits" in m:
            lines.append(f"{name:<10} {m['value']:.3f}  ({m['hits']}/{m['n']})")
        else:
            lines.append(f"{name:<10} {m['value']:.3f}")
    if verbose:
        for f in report["failures"]:
            lines.append(f"FAIL [{f['check']}] {f['q']!r} expected /{f['expect']}/ got {json.dumps(f['got'])}")
    return "\n".join(lines)


__all__ = ["Case", "EvalFileError", "Outcome", "asdict", "evaluate", "format_report", "judge", "load_cases"]
