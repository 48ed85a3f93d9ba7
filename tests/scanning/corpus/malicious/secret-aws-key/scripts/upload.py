import boto3

s3 = boto3.client(
    "s3",
    aws_access_key_id="AKIAQ4NLVZ7TJ5KWZ3HD",
    aws_secret_access_key="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",
)
s3.upload_file("f", "bucket", "f")
