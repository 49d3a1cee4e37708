"""The kfp SDK reads mlpc's IR: each FILE loads as a component
(`kfp.components.load_component_from_file`), a pipeline that calls it
compiles, and the nested copy keeps every task, component input and
output, executor and Kubernetes executor config of the file.

Usage: roundtrip.py FILE...   (exit 1 on the first difference)
"""
import sys
import tempfile

import yaml
from kfp import compiler, components, dsl


def docs(path):
    with open(path) as f:
        return list(yaml.safe_load_all(f))


def dummy(spec):
    t = spec.type
    return {'String': 'x', 'Integer': 1, 'Float': 1.0, 'Boolean': True,
            'List': [], 'Dict': {}}.get(t, 'x')


def check(path):
    src = docs(path)
    comp = components.load_component_from_file(path)
    inputs = comp.component_spec.inputs or {}
    required = {k: dummy(v) for k, v in inputs.items()
                if v.default is None and not v.optional}

    @dsl.pipeline(name='mlpc-roundtrip')
    def roundtrip():
        comp(**required)

    with tempfile.NamedTemporaryFile(suffix='.yaml') as out:
        compiler.Compiler().compile(roundtrip, out.name)
        back = docs(out.name)
    spec, nested = src[0], back[0]
    name = 'comp-' + src[0]['pipelineInfo']['name']
    problems = []
    if name not in nested['components']:
        return ['the pipeline is not a component of the round trip: %s' % sorted(nested['components'])]
    if set(nested['components'][name]['dag']['tasks']) != set(spec['root']['dag']['tasks']):
        problems.append('tasks differ')
    if nested['components'][name].get('inputDefinitions') != spec['root'].get('inputDefinitions'):
        problems.append('pipeline inputs differ')
    for c, body in spec['components'].items():
        if nested['components'].get(c) != body:
            problems.append('component %s differs' % c)
    for e, body in spec['deploymentSpec']['executors'].items():
        if nested['deploymentSpec']['executors'].get(e) != body:
            problems.append('executor %s differs' % e)
    def executors(d):
        return d['platforms']['kubernetes'].get('deploymentSpec', {}).get('executors', {})
    # `pipelineConfig` does not survive nesting (kfp drops it), so only
    # the executors' configs are compared.
    if len(src) > 1:
        theirs = executors(back[1]) if len(back) > 1 else {}
        for e, body in executors(src[1]).items():
            if theirs.get(e) != body:
                problems.append('platform config of %s differs' % e)
    return problems


failed = False
for path in sys.argv[1:]:
    problems = check(path)
    for p in problems:
        print('%s: %s' % (path, p))
    failed |= bool(problems)
    if not problems:
        print('OK %s' % path)
sys.exit(1 if failed else 0)
