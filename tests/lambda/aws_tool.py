"""boto3 against a Lambda endpoint, for the tests of the `aws` platform.

The tests run on Debian's Python (it has the Jupyter packages); boto3 is in
the machine's other Python. This script runs there, as an independent
client that checks and changes what the kernel deployed:

    python3 aws_tool.py ENDPOINT create-role NAME           -> the role ARN
    python3 aws_tool.py ENDPOINT get NAME                   -> GetFunction as JSON
    python3 aws_tool.py ENDPOINT create NAME ROLE           -> a function made outside the notebook
    python3 aws_tool.py ENDPOINT put-code NAME              -> its code replaced outside the notebook
    python3 aws_tool.py ENDPOINT set-role NAME ROLE         -> its execution role changed outside the notebook
    python3 aws_tool.py ENDPOINT delete NAME
    python3 aws_tool.py ENDPOINT invoke NAME JSON           -> the answer's status, headers and payload

Credentials and region come from the environment, as for the kernel.
Errors print the service's code and message and exit 1.
"""
import io
import json
import sys
import time
import zipfile

import boto3
import botocore.exceptions

OUTSIDE_CODE = "def lambda_handler(event, context):\n    return {'made': 'outside the notebook'}\n"


def outside_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("outside.py", OUTSIDE_CODE)
    return buffer.getvalue()


def wait_until_ready(client, name):
    for _ in range(100):
        config = client.get_function(FunctionName=name)["Configuration"]
        if config.get("State") != "Pending" and config.get("LastUpdateStatus") != "InProgress":
            return
        time.sleep(0.2)


def main(endpoint, command, *args):
    session = boto3.session.Session()
    if command == "create-role":
        iam = session.client("iam", endpoint_url=endpoint)
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]})
        try:
            print(iam.create_role(RoleName=args[0], AssumeRolePolicyDocument=policy)["Role"]["Arn"])
        except iam.exceptions.EntityAlreadyExistsException:
            print(iam.get_role(RoleName=args[0])["Role"]["Arn"])
        return
    client = session.client("lambda", endpoint_url=endpoint)
    if command == "get":
        answer = client.get_function(FunctionName=args[0])
        answer.pop("ResponseMetadata", None)
        print(json.dumps(answer, default=str))
    elif command == "create":
        client.create_function(FunctionName=args[0], Role=args[1], Runtime="python3.12",
                               Handler="outside.lambda_handler", Code={"ZipFile": outside_zip()})
        wait_until_ready(client, args[0])
    elif command == "put-code":
        client.update_function_code(FunctionName=args[0], ZipFile=outside_zip())
        wait_until_ready(client, args[0])
    elif command == "set-role":
        client.update_function_configuration(FunctionName=args[0], Role=args[1])
        wait_until_ready(client, args[0])
    elif command == "layer-versions":  # every version of every layer: {name: [LayerVersionArn, ...]}
        layers = {layer["LayerName"]: [v["LayerVersionArn"] for v in
                                       client.list_layer_versions(LayerName=layer["LayerName"])["LayerVersions"]]
                  for layer in client.list_layers()["Layers"]}
        print(json.dumps(layers))
    elif command == "delete":
        client.delete_function(FunctionName=args[0])
    elif command == "invoke":
        answer = client.invoke(FunctionName=args[0], Payload=args[1].encode())
        print(json.dumps({"StatusCode": answer["StatusCode"], "FunctionError": answer.get("FunctionError"),
                          "Payload": answer["Payload"].read().decode()}))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except botocore.exceptions.ClientError as error:
        print(f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}", file=sys.stderr)
        sys.exit(1)
