"""`make demo`: start the demo estate's services, scan it, verify the store and point at the report.

Acme AI's estate is a governance folder of policies and records (examples/governance), attestations
(examples/attestations), model and dataset cards (examples/modelcards), an AWS account and an MLflow
model registry. The AWS account lives in moto's server and the registry in a real MLflow tracking
server, both started here on 127.0.0.1 and seeded with a mix of conformant and nonconformant resources
(examples/estate). The scan collects everything concurrently, evaluates the Annex A pack, records the
scan in a tamper-evident store (examples/out/.annexa), and writes the JSON result and the HTML readiness
report (examples/out/report.html, one self-contained file).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
ANNEXA = Path(sys.executable).with_name("annexa")
# The ports examples/annexa.yaml names (collectors.aws.endpoint_url, collectors.mlflow.tracking_uri).
MOTO_PORT = 5055
MLFLOW_PORT = 5100


def annexa(*args: str, env: dict[str, str] | None = None) -> int:
    print(f"\n$ annexa {' '.join(args)}", flush=True)
    return subprocess.run([str(ANNEXA), *args], cwd=HERE, check=False, env=env).returncode


def main() -> int:
    sys.path.insert(0, str(HERE))
    from estate import aws, mlflow

    from annexa.plugins.servers import MlflowServer, MotoServer, ServerStartError

    OUT.mkdir(exist_ok=True)
    if annexa("rules", "check") != 0:
        return 1
    print("\nstarting moto (AWS) and an MLflow tracking server on 127.0.0.1 ...", flush=True)
    (OUT / "mlflow" / "mlflow.db").unlink(missing_ok=True)  # the registry is seeded afresh on every run
    try:
        with (
            MotoServer(OUT / "moto.log", port=MOTO_PORT) as moto,
            MlflowServer(OUT / "mlflow", port=MLFLOW_PORT) as registry,
        ):
            aws.seed(moto.url)
            mlflow.seed(registry.url)
            # moto accepts any credentials; real AWS would take them from the usual boto3 chain.
            env = {**os.environ, "AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo"}
            code = annexa("scan", "-c", "annexa.yaml", "--output", "out/result.json", env=env)
    except ServerStartError as exc:
        print(f"demo: a local service did not start: {exc}", file=sys.stderr)
        return 1
    if code not in (0, 1, 2):  # 1 and 2 are findings (nonconformities, inconclusive), not demo failures
        return code
    if annexa("verify", "--store", "out/.annexa") != 0:
        return 1
    annexa("history", "--store", "out/.annexa")
    from annexa.reports import write_readiness_report

    report = write_readiness_report(OUT / ".annexa", OUT / "report.html", organization="Acme AI (demo)")
    print(f"\nscan exit code {code} (0 conformant, 1 nonconformities, 2 inconclusive)")
    print(f"JSON result: {OUT / 'result.json'}")
    print(f"readiness report: {report}")
    # The same store in the dashboard (annexa[serve]): no tokens on this machine, 127.0.0.1 only.
    print("dashboard: .venv/bin/annexa serve --store examples/out/.annexa -c examples/annexa.yaml --no-auth")
    print("           then open http://127.0.0.1:8042/ (for a team: annexa serve token create --help)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
