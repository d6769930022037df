"""Finding the Debian mirror in the host's apt configuration (both formats)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError, EnvError
from harness.images.mirror import (
    MIRROR_ENV,
    choose_mirror,
    find_mirror,
    parse_deb822,
    parse_one_line,
    read_sources,
)

DEB822 = """\
Types: deb
# a comment inside the stanza
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_one_line_format_with_options_and_comments() -> None:
    sources = parse_one_line(
        "# comment\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://a.example/debian bookworm main contrib\n"
        "deb-src http://b.example/debian bookworm main  # trailing\n")
    assert [s.uris for s in sources] == [("http://a.example/debian",),
                                         ("http://b.example/debian",)]
    assert sources[0].types == ("deb",) and sources[0].components == ("main", "contrib")
    assert sources[0].origin.endswith(":2")


def test_one_line_error_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"x.list:2: expected 'deb URI SUITE"):
        parse_one_line("deb http://a.example/debian bookworm main\ndeb http://b.example\n",
                       origin="x.list")


def test_deb822_stanzas_and_continuation_lines() -> None:
    sources = parse_deb822(DEB822 + "\nTypes: deb\nURIs: http://c.example/debian\n"
                           " http://d.example/debian\nSuites: trixie\nComponents: main\n"
                           "Enabled: no\n")
    assert [s.suites for s in sources] == [("bookworm", "bookworm-updates"),
                                           ("bookworm-security",), ("trixie",)]
    assert sources[2].uris == ("http://c.example/debian", "http://d.example/debian")
    assert not sources[2].enabled and sources[0].enabled


def test_deb822_stanza_without_uris_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"s.sources:1: stanza lacks uris"):
        parse_deb822("Types: deb\nSuites: bookworm\n", origin="s.sources")


def test_choose_mirror_skips_other_suites_source_and_disabled_entries() -> None:
    sources = [
        *parse_one_line("deb-src http://src.example/debian bookworm main\n"),
        *parse_deb822("Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\n"
                      "Components: main\nEnabled: no\n"),
        *parse_deb822(DEB822),
    ]
    assert choose_mirror(sources, "bookworm") == "http://mirror.example/debian"
    assert choose_mirror(sources, "bookworm-security") == "http://security.example/debian-security"


def test_no_source_for_the_suite_says_how_to_fix_it() -> None:
    with pytest.raises(EnvError, match=rf"no apt source serves Debian 'trixie'.*{MIRROR_ENV}"):
        choose_mirror(parse_deb822(DEB822), "trixie")


def test_read_sources_reads_list_and_sources_files_only(tmp_path: Path) -> None:
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (parts / "debian.sources").write_text(DEB822)
    (parts / "extra.list").write_text("deb http://extra.example/debian bookworm main\n")
    (parts / "vendor.list.disabled").write_text("deb http://off.example/x bookworm main\n")
    uris = [uri for source in read_sources(tmp_path) for uri in source.uris]
    assert uris == ["http://mirror.example/debian", "http://security.example/debian-security",
                    "http://extra.example/debian"]
    assert find_mirror("bookworm", tmp_path, environ={}) == "http://mirror.example/debian"


def test_environment_override_wins_and_is_checked(tmp_path: Path) -> None:
    assert find_mirror("bookworm", tmp_path,
                       environ={MIRROR_ENV: "http://own.example/debian/"}) == (
        "http://own.example/debian")
    with pytest.raises(ConfigError, match=f"{MIRROR_ENV}: expected an http"):
        find_mirror("bookworm", tmp_path, environ={MIRROR_ENV: "own.example/debian"})
