"""Mutation scores: would the tests notice if the code were subtly wrong?

    .venv/bin/python -m benchmarks.mutation                    # every target
    .venv/bin/python -m benchmarks.mutation limits bluesky     # some of them
    .venv/bin/python -m benchmarks.mutation -v x               # and the survivors' diffs

Each target is one module (or one collector's `parse` and the helpers only it calls), mutated
by mutmut in a scratch copy of the project (benchmarks/.work/mutation/<target>/) and tested by
its own test files only, so a score says what those tests catch, not what the whole suite does.
The score is (killed + timed out) / (mutants - equivalent ones). Equivalent mutants — changes
no input can observe — are listed below with the reason, matched by function and mutated line
so the list survives renumbering. Results go to benchmarks/results/mutation.json.
Goal (issue 8): >= 85 % for every target.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "mutation"
RESULTS = ROOT / "benchmarks" / "results" / "mutation.json"
GOAL = 0.85


@dataclass(frozen=True)
class Target:
    source: str
    tests: tuple[str, ...]
    # Functions whose mutants count (None: the whole module). A collector's parse path only.
    functions: frozenset[str] | None = None
    # (function, mutated line as mutmut writes it, stripped) -> why no input can tell.
    equivalent: dict[tuple[str, str], str] = field(default_factory=dict)


def collector(name: str, *helpers: str, tests: tuple[str, ...] = ()) -> Target:
    return Target(
        f"tracker/collectors/{name}.py",
        tests or (f"tests/collectors/test_{name}.py", f"tests/collectors/test_{name}_parse.py"),
        frozenset({"parse", *helpers}),
    )


WEB_HELPERS = (
    "read_number",
    "_document",
    "_texts",
    "_find",
    "_number",
    "_clean",
    "_fold",
    "_css_string",
)
TARGETS: dict[str, Target] = {
    "baselines": Target(
        "tracker/baselines.py",
        ("tests/test_baselines.py",),
        equivalent={
            ("rounding", "if sig is None or value == 1:"): (
                "0 and 1 both have one digit: the formula gives 10 ** 0 // 2 = 0 for either at "
                "any sig >= 1, and a figure never has 0 significant figures"
            ),
        },
    ),
    "claims": Target(
        "tracker/claims.py",
        ("tests/test_claims.py", "tests/test_claims_rules.py"),
        equivalent={
            ("_countries", line): "a country series always has a `list` label (that is how it "
            "was picked), so the fallback to the key is never read"
            for line in (
                'weeks.setdefault(p.ts, set()).add(s.labels.get("list", None))',
                'weeks.setdefault(p.ts, set()).add(s.labels.get("list", ))',
            )
        }
        | {
            ("_countries", line): "`x or y` is y for both False and None: the week's flag is "
            "the same"
            for line in (
                "backfilled[p.ts] = backfilled.get(p.ts, None) or p.backfilled",
                "backfilled[p.ts] = backfilled.get(p.ts, ) or p.backfilled",
            )
        }
        | {
            (
                "_countries",
                "distinct = set().union(*weeks.values()) if (weeks) or True else set()",
            ): ("set().union() of nothing is the empty set the other branch gives"),
            ("_countries", "if measured <= claim.value and covered < hi:"): (
                "measured == claim.value has returned CONFIRMED just above"
            ),
            ("_weeks_at_one", "if measured <= claim.value and run and run[0] == min(weekly):"): (
                "measured == claim.value has returned CONFIRMED just above"
            ),
            ("_weeks_at_one", "for week in range(max(weekly) + 1):"): (
                "weeks before the first recorded one are empty: they reset an empty run"
            ),
            ("_weeks_at_one", "for week in range(min(weekly), max(weekly) + 2):"): (
                "the week after the last recorded one is empty: it only ends the run"
            ),
            (
                "agrees",
                "lo, hi = (claim.value, claim.value + unit) if unit > 2 else "
                "(claim.value + 1, None)",
            ): ("unit is a power of ten: never 2"),
        },
    ),
    "limits": Target("tracker/limits.py", ("tests/test_limits.py",)),
    "timeutil": Target("tracker/timeutil.py", ("tests/test_timeutil.py",)),
    "bluesky": collector("bluesky", "_observation"),
    "instagram": collector("instagram", "_observations"),
    "mastodon": collector("mastodon", "_parse_account", "_parse_tag"),
    "netflix": Target(
        "tracker/collectors/netflix.py",
        ("tests/collectors/test_netflix.py", "tests/collectors/test_netflix_parse.py"),
        frozenset({"parse", "parse_tsv", "_parse", "_header", "_count", "_week_start"}),
        equivalent={
            ("parse", 'text = body.decode("UTF-8")'): "codec names are case-insensitive",
            **{
                ("parse", f"return parse_tsv(text, titles, request.url.{tail}"): (
                    "the last piece of the URL is the same however many pieces it is cut into"
                )
                for tail in ('rsplit("/", )[-1])', 'rsplit("/", 2)[-1])', 'rsplit("/", 1)[+1])')
            },
            **{
                ("_parse", line): (
                    "a column's fallback index is only read when the column is there: country "
                    "columns in a countries file, weekly_hours_viewed (required) in a global one"
                )
                for default in ("None", "", "+1", "-2")
                for line in (
                    f'c_iso, c_country = columns.get("country_iso2", {default}), '
                    'columns.get("country_name", -1)',
                    'c_iso, c_country = columns.get("country_iso2", -1), '
                    f'columns.get("country_name", {default})',
                    f'c_hours, c_views = columns.get("weekly_hours_viewed", {default}), '
                    'columns.get("weekly_views", -1)',
                )
            },
            (
                "_parse",
                'c_hours, c_views = columns.get("weekly_hours_viewed", -1), '
                'columns.get("weekly_views", -2)',
            ): "any negative index means 'no views column'",
            ("_parse", "start = None"): "the week cache only saves parsing a date again",
            ("_parse", "start = weeks.get(None)"): "the week cache only saves parsing again",
            ("_header", 'head = line.lstrip("XX\\ufeffXX").strip()'): (
                "also strips leading X's, and no Top 10 column starts with X"
            ),
            (
                "_header",
                'f"{source_name}: HTML where a TSV was expected{summarize(text[:401].encode())}"',
            ): "summarize() keeps 120 characters of either",
        },
    ),
    "nyt": collector("nyt", "_is", "_values", "_date", "_fold"),
    "reddit": collector("reddit", "_observation"),
    "tiktok": collector("tiktok", "_parse_tag", "_parse_user", "_stat"),
    "web": collector("web", *WEB_HELPERS),
    "wikipedia": Target(
        "tracker/collectors/wikipedia.py",
        ("tests/collectors/test_wikipedia.py", "tests/collectors/test_wikipedia_parse.py"),
        frozenset({"parse", "_subjects", "_day"}),
        equivalent={
            ("_day", 'text = value if isinstance(value, str) else "XXXX"'): (
                "any stand-in that is not 10 digits fails the same check with the same message"
            ),
        },
    ),
    "wikitop": collector("wikitop", "_day"),
    "x": Target(
        "tracker/collectors/x.py",
        ("tests/collectors/test_x.py", "tests/collectors/test_x_parse.py"),
        frozenset({"parse", "_parse_users", "_follower_observation", "_parse_counts", "_time"}),
        equivalent={
            ("_time", line): "Python >= 3.11 (required) reads a trailing 'Z' in fromisoformat"
            for line in (
                'moment = datetime.fromisoformat(str(value).replace("XXZXX", "+00:00"))',
                'moment = datetime.fromisoformat(str(value).replace("z", "+00:00"))',
            )
        },
    ),
    "youtube": Target(
        "tracker/collectors/youtube.py",
        ("tests/collectors/test_youtube.py", "tests/collectors/test_youtube_parse.py"),
        frozenset({"parse", "_observe"}),
        equivalent={
            ("parse", 'item = resolved or by_id.get(channel_id_of(target) or "XXXX")'): (
                "a target without a channel id then looks up a channel whose id is the stand-in; "
                "only a channel with an invalid id ('' or 'XXXX') could match, and it fails "
                "either way"
            ),
        },
    ),
}

_NAME = re.compile(
    r"^\s*(?P<name>[\w.]+?\.(?:x_|xǁ\w+ǁ)(?P<function>\w+?)__mutmut_\d+): (?P<status>.+)$"
)
DETECTED = {"killed", "timeout", "caught by type check", "segfault"}


def mutmut_config(target: Target) -> str:
    tests = ", ".join(json.dumps(t) for t in target.tests if (ROOT / t).exists())
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["tracker"]\n'
        # mutmut runs the tests in mutants/: the files they read must be there too.
        'also_copy = ["config", "README.md"]\n'
        f"only_mutate = [{json.dumps(target.source)}]\n"
        f"pytest_add_cli_args_test_selection = [{tests}]\n"
        # One process per mutant is enough: mutmut runs mutants in parallel itself.
        'pytest_add_cli_args = ["-p", "no:xdist", "-p", "no:cacheprovider", "-q"]\n'
        "use_git_change_detection = false\n"
    )


def prepare(name: str, target: Target) -> Path:
    """A scratch copy of the project whose pyproject names this target for mutmut."""
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "payloads-large")
    for folder in ("tracker", "tests", "config"):
        shutil.copytree(ROOT / folder, work / folder, ignore=ignore)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # Without xdist's options: workers inside every mutant's run would only cost time.
    pyproject = re.sub(r"(?m)^addopts = .*$", 'addopts = "-ra --strict-markers"', pyproject)
    pyproject = re.sub(r"\n\[tool\.mutmut\].*?(?=\n\[|\Z)", "", pyproject, flags=re.S)
    (work / "pyproject.toml").write_text(pyproject + mutmut_config(target), encoding="utf-8")
    (work / "README.md").write_text((ROOT / "README.md").read_text(encoding="utf-8"))
    # Tests find the real Netflix files in ../shared, seen from the project: from mutants/ too.
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (work / "shared").symlink_to(shared)
    return work


def mutmut(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    return subprocess.run(
        [sys.executable, "-m", "mutmut", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def diffs(work: Path, target: Target) -> dict[str, str]:
    """Each mutant's changed lines ('-' original, '+' mutant), read from mutmut's copy.

    mutmut keeps every mutant as a function `<name>__mutmut_<n>` beside the original
    `<name>__mutmut_orig`; comparing them is what `mutmut show` does, a subprocess apiece.
    """
    path = work / "mutants" / target.source
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    functions = {
        node.name: lines[node.lineno - 1 : node.end_lineno]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    out = {}
    for name, body in functions.items():
        base, _, number = name.rpartition("__mutmut_")
        if not base or not number.isdigit() or base + "__mutmut_orig" not in functions:
            continue
        original = functions[base + "__mutmut_orig"]
        changed = difflib.unified_diff(original[1:], body[1:], lineterm="", n=0)
        out[name] = "\n".join(
            line for line in changed if line[:1] in "+-" and line[:3] not in ("+++", "---")
        )
    return out


def mutated_line(text: str) -> str:
    lines = [line[1:].strip() for line in text.splitlines() if line.startswith("+")]
    return lines[0] if lines else ""


def run(name: str, target: Target, children: int) -> Path:
    """Mutate and test `target` in a fresh scratch copy; the results stay in it."""
    work = prepare(name, target)
    module = target.source.removesuffix(".py").replace("/", ".")
    # Only the functions that count: the rest of a collector is not worth the minutes.
    only = [
        f"{module}.{shape.format(function)}__mutmut_*"
        for function in sorted(target.functions or ())
        for shape in ("x_{}", "xǁ*ǁ{}")
    ]
    done = mutmut(work, "run", "--max-children", str(children), *only)
    if done.returncode != 0:
        raise RuntimeError(f"mutmut run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return work


def score(name: str, target: Target, work: Path) -> dict[str, object]:
    """The score of a finished run, equivalent mutants left out."""
    listing = mutmut(work, "results", "--all", "true").stdout
    changes = diffs(work, target)
    counts: dict[str, int] = {}
    survivors: list[dict[str, str]] = []
    equivalent: list[dict[str, str]] = []
    for line in listing.splitlines():
        found = _NAME.match(line)
        if not found:
            continue
        function, status = found["function"], found["status"].strip()
        if target.functions is not None and function not in target.functions:
            continue
        if status not in DETECTED:
            shown = changes.get(found["name"].rsplit(".", 1)[-1], "")
            reason = target.equivalent.get((function, mutated_line(shown)))
            if reason:
                equivalent.append({"mutant": found["name"], "reason": reason})
                continue
            survivors.append({"mutant": found["name"], "status": status, "diff": shown})
        counts[status] = counts.get(status, 0) + 1
    total = sum(counts.values())
    detected = sum(n for status, n in counts.items() if status in DETECTED)
    return {
        "target": name,
        "source": target.source,
        "functions": sorted(target.functions) if target.functions else "all",
        "tests": [t for t in target.tests if (work / t).exists()],
        "mutants": total,
        "detected": detected,
        "statuses": counts,
        "equivalent": equivalent,
        "survivors": survivors,
        "score": round(detected / total if total else 0.0, 3),
    }


def table(results: dict[str, dict[str, object]]) -> str:
    rows = [
        "| target | mutants | detected | equivalent, left out | score |",
        "|---|---|---|---|---|",
    ]
    for name in TARGETS:
        r = results.get(name)
        if r is None:
            continue
        what = name if r["functions"] == "all" else f"{name} `parse`"
        rows.append(
            f"| {what} | {r['mutants']} | {r['detected']} | {len(r['equivalent'])} "  # type: ignore[arg-type]
            f"| {float(r['score']):.1%} |"  # type: ignore[arg-type]
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(TARGETS))
    parser.add_argument("-v", "--verbose", action="store_true", help="print survivors' diffs")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--rescore", action="store_true", help="score the last run again, without mutating"
    )
    parser.add_argument(
        "--table", action="store_true", help="print the last results as a Markdown table"
    )
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(RESULTS.read_text()) if RESULTS.exists() else {}))
        return 0
    names = args.targets or list(TARGETS)
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target {', '.join(unknown)} (known: {', '.join(TARGETS)})")
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    failing = []
    for name in names:
        target = TARGETS[name]
        started = time.monotonic()
        try:
            work = WORK / name if args.rescore else run(name, target, args.children)
            result = score(name, target, work)
        except (RuntimeError, OSError) as exc:
            print(f"{name:10} failed: {exc}", flush=True)
            failing.append(name)
            continue
        if not args.rescore:
            result["seconds"] = round(time.monotonic() - started, 1)
        elif name in previous and "seconds" in previous[name]:
            result["seconds"] = previous[name]["seconds"]
        if args.verbose:
            for survivor in result["survivors"]:  # type: ignore[attr-defined]
                print(f"# {survivor['mutant']}: {survivor['status']}\n{survivor['diff']}\n")
        result["survivors"] = [s["mutant"] for s in result["survivors"]]  # type: ignore[attr-defined]
        previous[name] = result
        passed = float(result["score"]) >= GOAL  # type: ignore[arg-type]
        if not passed:
            failing.append(name)
        print(
            f"{name:10} {result['score']:6.1%}  {result['detected']}/{result['mutants']} "
            f"detected, {len(result['equivalent'])} equivalent left out"  # type: ignore[arg-type]
            f"  {'✔' if passed else '✘'}",
            flush=True,
        )
        RESULTS.write_text(json.dumps(previous, indent=2, ensure_ascii=False) + "\n")
    return 1 if failing else 0


if __name__ == "__main__":
    raise SystemExit(main())
