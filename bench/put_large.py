"""PutObject of a large object through a presigned URL against the disk's own write
speed (issue 13): one iamd node (release build, SQLite and blobs under a temporary
folder) receives a 64 MiB body by `curl -T` to a SigV4 presigned PUT URL (the upload
is acknowledged once the blob is fsynced and its metadata committed); the same bytes
are written to the same folder by `dd bs=1M conv=fdatasync`. The two alternate, REPS
times each; medians of MB/s and the ratio iamd/dd are printed. Also measured in the
same run: the MD5 of the body on one core (Python's hashlib, i.e. OpenSSL's assembly),
the bound no PutObject can pass: S3's ETag of a single-part object is its MD5, which
must be known before the answer, and MD5 cannot be split across cores.

    python3 bench/put_large.py [--reps 5] [--mib 64] [--bin target/release/iamd]
"""

import argparse
import hashlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from propagation import REPO, ROOT, iamd_binary, start_node  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "iamd"))
    args = ap.parse_args()
    binary = iamd_binary(args.bin)

    with tempfile.TemporaryDirectory(prefix="iamd-put-large-") as tmp:
        work = Path(tmp)
        body = work / "body.bin"
        body.write_bytes(os.urandom(args.mib << 20))
        proc, ep = start_node(binary, None, work, "node")
        try:
            s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                              aws_access_key_id=ROOT[0], aws_secret_access_key=ROOT[1],
                              config=Config(signature_version="s3v4"))
            s3.create_bucket(Bucket="large")
            iamd, dd, md5 = [], [], []
            data = body.read_bytes()
            for rep in range(args.reps):
                url = s3.generate_presigned_url("put_object", ExpiresIn=3600,
                                                Params={"Bucket": "large", "Key": f"obj-{rep}"})
                t = time.perf_counter()
                out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                      "-H", "Expect:", "-T", str(body), url],
                                     check=True, capture_output=True, text=True).stdout
                iamd.append(args.mib / (time.perf_counter() - t))
                if out != "200":
                    sys.exit(f"PUT answered {out}")
                target = work / f"dd-{rep}.bin"
                t = time.perf_counter()
                subprocess.run(["dd", f"if={body}", f"of={target}", "bs=1M", "conv=fdatasync"],
                               check=True, capture_output=True)
                dd.append(args.mib / (time.perf_counter() - t))
                target.unlink()
                t = time.perf_counter()
                hashlib.md5(data).digest()
                md5.append(args.mib / (time.perf_counter() - t))
            head = s3.head_object(Bucket="large", Key="obj-0")
            if head["ContentLength"] != args.mib << 20:
                sys.exit(f"stored {head['ContentLength']} bytes")
        finally:
            proc.kill()
            proc.wait()
        mi, md, mh = statistics.median(iamd), statistics.median(dd), statistics.median(md5)
        fs = subprocess.run(["df", "-T", str(work)], capture_output=True, text=True).stdout
        fstype = re.split(r"\s+", fs.splitlines()[-1])[1] if fs else "?"
        print(f"{args.mib} MiB, {args.reps} each, alternating, on {fstype} ({binary})")
        print(f"  iamd presigned PUT  {mi:8.1f} MiB/s   runs: {', '.join(f'{x:.0f}' for x in iamd)}")
        print(f"  dd conv=fdatasync   {md:8.1f} MiB/s   runs: {', '.join(f'{x:.0f}' for x in dd)}")
        print(f"  MD5 (one core)      {mh:8.1f} MiB/s   runs: {', '.join(f'{x:.0f}' for x in md5)}")
        print(f"  iamd/dd {mi / md:.2f}   MD5/dd {mh / md:.2f} (the most any PUT can reach)"
              f"   iamd/MD5 {mi / mh:.2f}")


if __name__ == "__main__":
    main()
