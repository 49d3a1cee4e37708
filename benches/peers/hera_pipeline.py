"""The benchmark pipeline with Hera (Argo YAML): a template per stage, or one
shared training template called with arguments.
Usage: python hera_pipeline.py N OUT.yaml per-stage|shared"""
import sys

from hera.workflows import DAG, Container, Env, Parameter, Resources, Workflow
from hera.workflows import models as m

N, OUT, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
RES = Resources(cpu_request="500m", cpu_limit="1", memory_request="512Mi", memory_limit="1Gi")
LR, DATA = "{{workflow.parameters.learning-rate}}", "{{workflow.parameters.dataset}}"


def out(name):
    return Parameter(name=name, value_from=m.ValueFrom(path="/tmp/outputs/" + name))


with Workflow(generate_name="scale-", entrypoint="main",
              arguments=[Parameter(name="learning-rate", value="0.01"),
                         Parameter(name="dataset", value="s3://bucket/data.csv")]) as w:
    prepare = Container(name="prepare", image="registry.example.com/prep:1.0", command=["python", "prep.py"],
                        args=["--data", DATA, "--lr", LR], resources=RES, env=[Env(name="STAGE", value="prepare")],
                        outputs=[out("rows")])
    if MODE == "shared":
        shared = Container(name="train-shard", image="registry.example.com/train:1.0", command=["python", "train.py"],
                           inputs=[Parameter(name="rows"), Parameter(name="shard")],
                           args=["--data", DATA, "--lr", LR, "--rows", "{{inputs.parameters.rows}}"],
                           resources=RES, env=[Env(name="SHARD", value="{{inputs.parameters.shard}}")],
                           outputs=[out("score")])
        train_templates = [shared] * (N - 3)
    else:
        train_templates = [Container(name="train-%d" % i, image="registry.example.com/train:1.0",
                                     command=["python", "train.py"], inputs=[Parameter(name="rows")],
                                     args=["--data", DATA, "--lr", LR, "--rows", "{{inputs.parameters.rows}}"],
                                     resources=RES, env=[Env(name="SHARD", value=str(i))], outputs=[out("score")])
                           for i in range(1, N - 2)]
    register = Container(name="register-model", image="registry.example.com/register:1.0",
                         command=["python", "register.py"], args=["--data", DATA, "--lr", LR], resources=RES,
                         env=[Env(name="STAGE", value="register")], outputs=[out("version")])
    deploy = Container(name="deploy-model", image="registry.example.com/deploy:1.0", command=["python", "deploy.py"],
                       inputs=[Parameter(name="version")],
                       args=["--data", DATA, "--version", "{{inputs.parameters.version}}"], resources=RES,
                       env=[Env(name="STAGE", value="deploy")], outputs=[out("url")])
    with DAG(name="main"):
        p = prepare()
        rows = "{{tasks.prepare.outputs.parameters.rows}}"
        trains = []
        for i, template in enumerate(train_templates, start=1):
            args = {"rows": rows, "shard": str(i)} if MODE == "shared" else {"rows": rows}
            trains.append(template(name="train-%d" % i, arguments=args))
        r = register()
        d = deploy(arguments={"version": "{{tasks.register-model.outputs.parameters.version}}"})
        p >> trains
        trains >> r
        r >> d

with open(OUT, "w") as f:
    f.write(w.to_yaml())
