"""Makes the one IAM user photoseal's S3 tests sign as, on a moto server that enforces
authentication, and writes its keys as secrets-file lines.

moto checks signatures only against IAM access keys it knows, and lets the first
INITIAL_NO_AUTH_ACTION_COUNT requests through unsigned: exactly the three calls below, so every
later request (the tests') must be signed with these keys. Usage: moto_bootstrap.py ENDPOINT OUT
"""
import json
import os
import sys

import boto3

endpoint, out = sys.argv[1], sys.argv[2]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="photoseal")
iam.put_user_policy(UserName="photoseal", PolicyName="s3-all", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}))
key = iam.create_access_key(UserName="photoseal")["AccessKey"]
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    f.write(f"AWS_ACCESS_KEY_ID={key['AccessKeyId']}\n")
    f.write(f"AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}\n")
    f.write("AWS_REGION=us-east-1\n")
    f.write(f"S3_ENDPOINT={endpoint}\n")
