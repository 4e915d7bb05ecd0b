"""The Simplified Chinese catalogue: complete, current, compiled, and faithful to its msgids.

Each check names the entries it fails on. The fix is nearly always `make messages`, then
translating the new entries in locale/zh_Hans/LC_MESSAGES/django.po (terms: docs/glossary.md)
and running `make messages` again to compile.
"""

from __future__ import annotations

import ast
import gettext
import inspect
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from connectors.dingtalk import errors as dingtalk_errors
from connectors.dingtalk.scopes import SCOPES
from dtconsole import dingtalk_texts

ROOT = Path(settings.BASE_DIR)
LOCALE = ROOT / "locale"
CATALOGUES = sorted((LOCALE / "zh_Hans" / "LC_MESSAGES").glob("*.po"))
# The options of `make messages` (checked against the Makefile below).
MAKEMESSAGES_OPTIONS = {
    "all": True,
    "ignore_patterns": [".venv/*", "staticfiles/*"],
    "keyword": ["N_"],
}
# What makemessages reads in the copy of the project; everything else stays behind.
SOURCE_SUFFIXES = {".py", ".html", ".txt"}
SKIPPED_DIRS = {".git", ".venv", "staticfiles", "node_modules", "__pycache__", ".run"}

# printf-style (%(name)s, %s, %d, %(seconds).1f, %%) and str.format-style ({0}, {name}).
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]|\{[^{}\s]*\}")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


@dataclass
class Entry:
    msgid: str
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    def __str__(self) -> str:
        return f"{self.msgctxt}|{self.msgid!r}" if self.msgctxt else repr(self.msgid)


def parse_po(path: Path) -> list[Entry]:
    """The live entries of a .po file (no header, no obsolete #~ entries)."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        lines = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#~")]
        entry = _parse_block(lines)
        if entry is not None and entry.msgid:
            entries.append(entry)
    return entries


def _parse_block(lines: list[str]) -> Entry | None:
    values: dict[str, str] = {}
    flags: set[str] = set()
    current = None
    for line in lines:
        if line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            values[current] += ast.literal_eval(line)
        else:
            current, _, text = line.partition(" ")
            values[current] = ast.literal_eval(text)
    if "msgid" not in values:
        return None
    msgstr = [values[k] for k in sorted(values) if k.startswith("msgstr")]
    return Entry(
        msgid=values["msgid"],
        msgid_plural=values.get("msgid_plural", ""),
        msgctxt=values.get("msgctxt"),
        msgstr=msgstr,
        flags=flags,
    )


def names(entries) -> str:
    return "\n  ".join(str(e) for e in entries)


def placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


@pytest.fixture(scope="module")
def catalogue() -> dict[Path, list[Entry]]:
    assert CATALOGUES, f"no catalogue under {LOCALE}/zh_Hans/LC_MESSAGES"
    return {path: parse_po(path) for path in CATALOGUES}


# --- (a) complete -----------------------------------------------------------------------------


def test_every_entry_of_the_chinese_catalogue_is_translated_and_none_is_fuzzy(catalogue):
    for path, entries in catalogue.items():
        untranslated = [e for e in entries if not e.msgstr or not all(e.msgstr)]
        fuzzy = [e for e in entries if "fuzzy" in e.flags]
        assert not untranslated, f"{path.name}: untranslated:\n  {names(untranslated)}"
        assert not fuzzy, f"{path.name}: fuzzy (check, then remove the flag):\n  {names(fuzzy)}"


def test_the_chinese_catalogue_has_one_plural_form(catalogue):
    header = CATALOGUES[0].read_text(encoding="utf-8")
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in header
    for entries in catalogue.values():
        wrong = [e for e in entries if e.msgid_plural and len(e.msgstr) != 1]
        assert not wrong, f"plural entries need exactly msgstr[0]:\n  {names(wrong)}"


# --- (b) current --------------------------------------------------------------------------------


def copy_sources(target: Path) -> None:
    """The files makemessages reads, with their paths, and the committed catalogues."""
    for directory, subdirs, files in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if d not in SKIPPED_DIRS and d != "locale"]
        relative = Path(directory).relative_to(ROOT)
        for name in files:
            if Path(name).suffix in SOURCE_SUFFIXES:
                (target / relative).mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(directory) / name, target / relative / name)
    shutil.copytree(LOCALE, target / "locale")


def test_makemessages_would_add_no_entry_every_string_shown_is_marked(tmp_path, monkeypatch):
    # makemessages writes into the locale directory next to the sources it finds, so it runs
    # on a copy of the project: the committed catalogue is never touched.
    copy_sources(tmp_path)
    monkeypatch.chdir(tmp_path)
    with override_settings(LOCALE_PATHS=[str(tmp_path / "locale")]):
        # Copies: makemessages extends the ignore list it is given.
        options = {
            k: list(v) if isinstance(v, list) else v for k, v in MAKEMESSAGES_OPTIONS.items()
        }
        call_command("makemessages", verbosity=0, **options)
    for path in CATALOGUES:
        committed = {e.key for e in parse_po(path)}
        regenerated = parse_po(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / path.name)
        new = [e for e in regenerated if e.key not in committed]
        assert not new, (
            f"{path.name} lacks strings the code marks; run `make messages` and translate:"
            f"\n  {names(new)}"
        )


def test_make_messages_runs_makemessages_with_the_options_this_test_uses():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^messages:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe, "the Makefile has no `messages` target"
    line = next(ln for ln in recipe.group(1).splitlines() if "makemessages" in ln)
    assert "--all" in line
    for pattern in MAKEMESSAGES_OPTIONS["ignore_patterns"]:
        assert f'-i "{pattern}"' in line
    for keyword in MAKEMESSAGES_OPTIONS["keyword"]:
        assert f"--keyword={keyword}" in line
    assert "compilemessages" in recipe.group(1)


# --- (c) compiled -------------------------------------------------------------------------------


def read_mo(path: Path) -> dict:
    with path.open("rb") as handle:
        return gettext.GNUTranslations(handle)._catalog


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.name)
def test_the_committed_mo_holds_exactly_what_its_po_compiles_to(po, tmp_path):
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo.relative_to(ROOT)} is missing: run `make messages` and commit it"
    fresh = tmp_path / mo.name
    subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(po)], check=True)
    committed, expected = read_mo(mo), read_mo(fresh)
    differing = sorted(
        str(k) for k in set(committed) | set(expected) if committed.get(k) != expected.get(k)
    )
    assert not differing, (
        f"{mo.name} is stale (run `make messages` and commit it); differing entries:\n  "
        + "\n  ".join(differing[:20])
    )


# --- (d) faithful -------------------------------------------------------------------------------


def test_every_translation_keeps_the_placeholders_of_its_msgid(catalogue):
    wrong = []
    for entries in catalogue.values():
        for e in entries:
            source = e.msgid_plural or e.msgid
            wrong += [f"{e}: {s!r}" for s in e.msgstr if placeholders(s) != placeholders(source)]
    assert not wrong, "placeholders differ from the msgid's:\n  " + "\n  ".join(wrong)


def test_every_translation_keeps_the_html_tags_of_its_msgid(catalogue):
    wrong = []
    for entries in catalogue.values():
        for e in entries:
            tags = sorted(TAG.findall(e.msgid))
            wrong += [f"{e}: {s!r}" for s in e.msgstr if sorted(TAG.findall(s)) != tags]
    assert not wrong, "HTML tags differ from the msgid's:\n  " + "\n  ".join(wrong)


# --- the connector's English texts --------------------------------------------------------------


def connector_hints() -> set[str]:
    """Every hint literal the connector marks with ``N_`` in connectors/dingtalk/errors.py, and
    every default hint of its error classes (which must be among them)."""
    marked = {
        node.args[0].value
        for node in ast.walk(ast.parse(inspect.getsource(dingtalk_errors)))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "N_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    defaults = {
        cls.default_hint
        for cls in vars(dingtalk_errors).values()
        if inspect.isclass(cls) and issubclass(cls, dingtalk_errors.DingTalkError)
    }
    assert {d for d in defaults if d} <= marked, "a default hint is not marked with N_"
    return marked | set(dingtalk_errors.HINTS.values())


def test_every_fixed_hint_and_permission_purpose_of_the_connector_is_in_the_catalogue(catalogue):
    msgids = {entry.msgid for entries in catalogue.values() for entry in entries}
    texts = connector_hints() | set(dingtalk_texts.PERMISSION_PURPOSES)
    missing = (texts | {s.purpose for s in SCOPES}) - msgids
    assert not missing, "connector texts missing from the catalogue:\n  " + "\n  ".join(missing)
