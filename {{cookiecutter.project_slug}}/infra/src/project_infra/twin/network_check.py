"""``NETWORK_CHECK`` in the twin when project.toml gives a VPC: the VPCs are your network team's, in
accounts the emulator does not hold, so ``make check-network`` (``project_infra.network_check``,
tested against moto's EC2 in ``infra/tests/test_network_check.py``) cannot find them here. The first
run's log says it was not run; without a given VPC the twin runs the real command."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    where = " ".join(sys.argv[1:] if argv is None else argv) or "the tooling account"
    print(
        f"twin: check-network not run ({where}): the VPCs project.toml gives are not in the "
        "emulated accounts"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
