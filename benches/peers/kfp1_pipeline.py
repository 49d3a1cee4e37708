"""The benchmark pipeline with KFP 1.8 (`kfp.dsl.ContainerOp`, Argo YAML).
Usage: python kfp1_pipeline.py N OUT.yaml"""
import sys

import kfp
from kfp import dsl
from kubernetes.client import V1EnvVar

N, OUT = int(sys.argv[1]), sys.argv[2]


def op(name, image, script, args, env_name, env_value, output):
    o = dsl.ContainerOp(name=name, image=image, command=["python", script], arguments=args,
                        file_outputs={output: "/tmp/outputs/" + output})
    o.set_cpu_request("500m").set_cpu_limit("1").set_memory_request("512Mi").set_memory_limit("1Gi")
    o.add_env_variable(V1EnvVar(name=env_name, value=env_value))
    return o


@dsl.pipeline(name="scale")
def scale(learning_rate: float = 0.01, dataset: str = "s3://bucket/data.csv"):
    prepare = op("prepare", "registry.example.com/prep:1.0", "prep.py",
                 ["--data", dataset, "--lr", learning_rate], "STAGE", "prepare", "rows")
    trains = [op("train-%d" % i, "registry.example.com/train:1.0", "train.py",
                 ["--data", dataset, "--lr", learning_rate, "--rows", prepare.outputs["rows"]],
                 "SHARD", str(i), "score") for i in range(1, N - 2)]
    register = op("register-model", "registry.example.com/register:1.0", "register.py",
                  ["--data", dataset, "--lr", learning_rate], "STAGE", "register", "version").after(*trains)
    op("deploy-model", "registry.example.com/deploy:1.0", "deploy.py",
       ["--data", dataset, "--version", register.outputs["version"]], "STAGE", "deploy", "url")


kfp.compiler.Compiler().compile(scale, OUT)
