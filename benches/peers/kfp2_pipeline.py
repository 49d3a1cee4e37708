"""The benchmark pipeline with KFP 2 (container components; PipelineSpec YAML).
Usage: python kfp2_pipeline.py N OUT.yaml"""
import sys

from kfp import compiler, dsl

N, OUT = int(sys.argv[1]), sys.argv[2]


@dsl.container_component
def prepare(data: str, lr: float, rows: dsl.OutputPath(int)):
    return dsl.ContainerSpec(image="registry.example.com/prep:1.0", command=["python", "prep.py"],
                             args=["--data", data, "--lr", lr, "--rows", rows])


@dsl.container_component
def train(data: str, lr: float, rows: int, score: dsl.OutputPath(float)):
    return dsl.ContainerSpec(image="registry.example.com/train:1.0", command=["python", "train.py"],
                             args=["--data", data, "--lr", lr, "--rows", rows, "--score", score])


@dsl.container_component
def register(data: str, lr: float, version: dsl.OutputPath(str)):
    return dsl.ContainerSpec(image="registry.example.com/register:1.0", command=["python", "register.py"],
                             args=["--data", data, "--lr", lr, "--version", version])


@dsl.container_component
def deploy(data: str, version: str, url: dsl.OutputPath(str)):
    return dsl.ContainerSpec(image="registry.example.com/deploy:1.0", command=["python", "deploy.py"],
                             args=["--data", data, "--version", version, "--url", url])


def sized(task, env_name, env_value):
    return (task.set_cpu_request("500m").set_cpu_limit("1").set_memory_request("512Mi")
            .set_memory_limit("1Gi").set_env_variable(env_name, env_value))


@dsl.pipeline(name="scale")
def scale(learning_rate: float = 0.01, dataset: str = "s3://bucket/data.csv"):
    p = sized(prepare(data=dataset, lr=learning_rate), "STAGE", "prepare")
    trains = [sized(train(data=dataset, lr=learning_rate, rows=p.outputs["rows"]), "SHARD", str(i))
              for i in range(1, N - 2)]
    r = sized(register(data=dataset, lr=learning_rate), "STAGE", "register").after(*trains)
    sized(deploy(data=dataset, version=r.outputs["version"]), "STAGE", "deploy")


compiler.Compiler().compile(scale, OUT)
