"""Regenerate the committed sample captures and their truth.

    python scripts/make_samples.py data/samples [--seed 20261102]

The same seed writes the same bytes, so a regenerated set shows no diff unless the
generator (``bofan_analytics.samples``) changed.
"""

import argparse
import sys
from pathlib import Path

DEFAULT_SEED = 20261102


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="where to write the samples (created if missing)")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        from bofan_analytics.samples import write_samples
    except ImportError:  # run from a checkout without the package installed
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from bofan_analytics.samples import write_samples
    written = write_samples(args.directory, seed=args.seed)
    total = 0
    for name, path in sorted(written.items()):
        size = path.stat().st_size
        total += size
        print(f"{size:>10,}  {name}")
    print(f"{total:>10,}  total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
