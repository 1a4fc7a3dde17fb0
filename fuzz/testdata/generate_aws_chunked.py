#!/usr/bin/env python3
"""An aws-chunked body as botocore builds it for STREAMING-UNSIGNED-PAYLOAD-TRAILER
(botocore.httpchecksum.AwsChunkedWrapper, CRC32 trailer).

Run: python3 generate_aws_chunked.py > botocore-unsigned-trailer.body (botocore 1.43.11)
"""
import io
import sys

import botocore.httpchecksum as h

payload = b"hello world, this is boto3" * 10
w = h.AwsChunkedWrapper(io.BytesIO(payload), checksum_cls=h.Crc32Checksum,
                        checksum_name="x-amz-checksum-crc32", chunk_size=100)
sys.stdout.buffer.write(w.read())
