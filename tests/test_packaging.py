"""README's links on the package index: their text names the file, which the sdist ships."""

import pathlib
import re

ROOT = pathlib.Path(__file__).parent.parent


def relative_links():
    links = re.findall(r"\[([^\]]+)\]\(([^)\s]+)\)", (ROOT / "README.md").read_text())
    return [(text, target) for text, target in links if "://" not in target]


def test_readme_links_name_the_files_they_open_and_the_sdist_ships_them():
    # A relative link does not resolve on the package index page, so its text is the path.
    manifest = (ROOT / "MANIFEST.in").read_text().split()
    assert relative_links()
    for text, target in relative_links():
        assert text.strip("`") == target, f"link text {text!r} should be the path {target!r}"
        assert (ROOT / target).is_file(), target
        assert target in manifest or target.split("/")[0] in manifest, f"MANIFEST.in does not ship {target}"
