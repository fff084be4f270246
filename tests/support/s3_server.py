"""A real S3-compatible server for tests: moto's server (PyPI `moto[server]`) in its own process on a free port.

with S3Server() as s3:
    s3.create_bucket("sweeps")
    os.environ.update(s3.env)       # AWS_ENDPOINT_URL, credentials, region: what pyarrow and boto3 read
    s3.keys("sweeps")               # every object key in the bucket
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from orchestrator.runtime.ray_start import free_port

# Distinctive test credentials: tests assert that the secret appears in no output, object or local file.
ACCESS_KEY = "AKIAROBOTSWEEPSTEST"
SECRET_KEY = "s3-test-secret-do-not-print-0123456789"


class S3Server:
    def __init__(self, log: Path | None = None):
        self.port = free_port(0)
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        self.log = log
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> S3Server:
        out = open(self.log, "wb") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"moto's S3 server did not start on {self.url}") from None
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
