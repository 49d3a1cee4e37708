"""Structural comparison of two KFP v2 IR files: mlpc's and kfp's own
compilation of the same pipeline (../shared/reference/kfp-ir-samples).

Usage: compare.py MLPC.yaml KFP.yaml MAPPING_JSON

MAPPING_JSON maps kfp's task names to mlpc's ({"step-2": "deploy-to-prod"});
tasks of kfp that mlpc's twin leaves out on purpose map to null.

Compared, per container task (a task whose component has an executor),
after the mapping:
- the set of tasks;
- its upstream container tasks: `dependentTasks` and data inputs, with a
  DAG task (a condition or loop body) standing for every container task in
  it, and the dependencies of the DAG tasks that hold it;
- its trigger: the conjunction of the conditions on it and on the DAG tasks
  that hold it, each operand resolved to what it reads (a pipeline
  parameter, or a producer task's output), numbers as numbers, parentheses
  and spacing normalised;
- its iterators (items and parallelism of the loops that hold it);
- whether it runs as an exit task (ALL_UPSTREAM_TASKS_COMPLETED on it or
  on a DAG task that holds it).
Exit 0 when equal; otherwise prints each difference and exits 1.
"""
import json
import re
import sys

import yaml


def load(path):
    with open(path) as f:
        return next(yaml.safe_load_all(f))


class Ir:
    def __init__(self, doc):
        self.doc = doc
        self.components = doc.get('components', {})
        self.tasks = {}  # container task -> facts
        self.members = {}  # DAG task -> the container tasks in it
        self.walk(doc['root'], [], [], set(), {}, False)

    def walk(self, comp, conds, iters, outer_deps, channels, exit_task):
        dag = comp.get('dag', {})
        tasks = dag.get('tasks', {})
        for name, t in tasks.items():
            ref = self.components[t['componentRef']['name']]
            inputs = t.get('inputs', {})
            # What each input of this task reads, resolved through the
            # enclosing DAGs' `pipelinechannel--` inputs.
            sources = {}
            for k, v in inputs.get('parameters', {}).items():
                sources[k] = self.source(v, channels)
            for k, v in inputs.get('artifacts', {}).items():
                if 'taskOutputArtifact' in v:
                    o = v['taskOutputArtifact']
                    sources[k] = ('output', o['producerTask'], o['outputArtifactKey'])
            deps = set(t.get('dependentTasks', [])) | {
                s[1] for s in sources.values() if s and s[0] == 'output'}
            deps = {('task', d) for d in deps} | outer_deps
            cond = t.get('triggerPolicy', {}).get('condition')
            my_conds = conds + ([normalise(cond, sources)] if cond else [])
            my_iters = iters
            if 'parameterIterator' in t:
                it = t['parameterIterator']
                raw = it['items'].get('raw')
                items = json.loads(raw) if raw is not None else ('input', sources.get(it['items'].get('inputParameter')))
                my_iters = iters + [(json.dumps(items, sort_keys=True),
                                     t.get('iteratorPolicy', {}).get('parallelismLimit'))]
            my_exit = exit_task or t.get('triggerPolicy', {}).get('strategy') == 'ALL_UPSTREAM_TASKS_COMPLETED'
            if 'dag' in ref:
                self.walk(ref, my_conds, my_iters, deps, sources, my_exit)
                self.dag_members(name, ref)
            else:
                self.tasks[name] = {
                    'deps': deps,
                    'conds': sorted(my_conds),
                    'iters': my_iters,
                    'exit': my_exit,
                }

    def dag_members(self, name, comp):
        members = set()
        for n, t in comp['dag']['tasks'].items():
            ref = self.components[t['componentRef']['name']]
            members |= self.members.get(n, {n}) if 'dag' in ref else {n}
        self.members[name] = members

    def source(self, v, channels):
        if 'componentInputParameter' in v:
            name = v['componentInputParameter']
            return channels.get(name, ('param', name))
        if 'taskOutputParameter' in v:
            o = v['taskOutputParameter']
            return ('output', o['producerTask'], o['outputParameterKey'])
        if 'runtimeValue' in v:
            return ('constant', json.dumps(v['runtimeValue'].get('constant')))
        return None

    def resolved(self):
        """Every container task's upstream container tasks."""
        out = {}
        for name, facts in self.tasks.items():
            ups = set()
            for kind, d in facts['deps']:
                ups |= self.members.get(d, {d})
            out[name] = ups
        return out


OPERAND = re.compile(r"inputs\.parameter_values\['([^']*)'\]")


def normalise(cond, sources):
    """A condition with each operand as what it reads, and numbers and
    parentheses in one form."""
    def operand(m):
        s = sources.get(m.group(1))
        if s is None:
            return '?' + m.group(1)
        return 'param:' + s[1] if s[0] == 'param' else 'out:%s.%s' % (s[1], s[2]) if s[0] == 'output' else 'const:' + s[1]
    text = OPERAND.sub(operand, cond)
    text = re.sub(r'\b(int|double)\(([^()]*)\)', r'\2', text)
    text = re.sub(r'(?<![\w.])(\d+\.\d*|\d+)(?![\w.])', lambda m: repr(float(m.group(1))), text)
    text = text.replace('"', "'")
    return canonical(tokens(text))


def tokens(text):
    return re.findall(r"'(?:\\.|[^'])*'|&&|\|\||==|!=|<=|>=|[<>!()]|[^\s()!<>=&|']+", text)


def canonical(toks):
    """Parse `a && b || !c`, comparisons and atoms; print fully bracketed."""
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else None

    def take():
        pos[0] += 1
        return toks[pos[0] - 1]

    def expr_or():
        left = expr_and()
        while peek() == '||':
            take()
            left = '(%s || %s)' % (left, expr_and())
        return left

    def expr_and():
        left = unary()
        while peek() == '&&':
            take()
            left = '(%s && %s)' % (left, unary())
        return left

    def unary():
        if peek() == '!':
            take()
            return '!%s' % unary()
        return compare()

    def compare():
        left = atom()
        if peek() in ('==', '!=', '<', '<=', '>', '>='):
            op = take()
            return '(%s %s %s)' % (left, op, atom())
        return left

    def atom():
        if peek() == '(':
            take()
            inner = expr_or()
            take()  # ')'
            return inner
        return take()

    return expr_or()


def main():
    mlpc, kfp, mapping = Ir(load(sys.argv[1])), Ir(load(sys.argv[2])), json.loads(sys.argv[3])
    rename = lambda n: mapping.get(n, n)
    problems = []
    ours, theirs = mlpc.resolved(), kfp.resolved()
    kept = {n for n in theirs if rename(n) is not None}
    if {rename(n) for n in kept} != set(ours):
        problems.append('tasks: mlpc %s, kfp %s' % (sorted(ours), sorted(rename(n) for n in kept)))
    def renamed_cond(c):
        return re.sub(r'out:([\w-]+)\.', lambda m: 'out:%s.' % rename(m.group(1)), c)
    for n in sorted(kept):
        m = rename(n)
        if m not in ours:
            continue
        ups = {rename(u) for u in theirs[n] if rename(u) is not None}
        if ups != ours[m]:
            problems.append('%s: upstream mlpc %s, kfp %s' % (m, sorted(ours[m]), sorted(ups)))
        c_kfp = sorted(renamed_cond(c) for c in kfp.tasks[n]['conds'])
        c_mlpc = sorted(mlpc.tasks[m]['conds'])
        # mlpc writes one conjunction where kfp nests DAGs: compare the
        # conjuncts.
        if conjuncts(c_mlpc) != conjuncts(c_kfp):
            problems.append('%s: trigger mlpc %s, kfp %s' % (m, c_mlpc, c_kfp))
        if mlpc.tasks[m]['exit'] != kfp.tasks[n]['exit']:
            problems.append('%s: runs as an exit task: mlpc %s, kfp %s' % (m, mlpc.tasks[m]['exit'], kfp.tasks[n]['exit']))
        if mlpc.tasks[m]['iters'] != kfp.tasks[n]['iters']:
            problems.append('%s: iterators mlpc %s, kfp %s' % (m, mlpc.tasks[m]['iters'], kfp.tasks[n]['iters']))
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


def conjuncts(conds):
    out = set()
    def split(c):
        # A fully bracketed `(a && b)` at the top: its two sides.
        if c.startswith('(') and c.endswith(')'):
            depth = 0
            for i, ch in enumerate(c):
                depth += ch == '('
                depth -= ch == ')'
                if depth == 1 and c.startswith(' && ', i + 1):
                    split(c[1:i + 1])
                    split(c[i + 5:-1])
                    return
        out.add(c)
    for c in conds:
        split(c)
    return out


if __name__ == '__main__':
    main()
