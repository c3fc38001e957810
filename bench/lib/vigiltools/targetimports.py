"""Every `import` of a module this package builds or depends on must be a direct dependency of the
importing target in Package.swift. A warm build can hide a missing one (the module happens to be built
already); a clean build (CI) fails on it. Run: python3 -m vigiltools.targetimports [PACKAGE_DIR]."""
import json
import os
import re
import subprocess
import sys

IMPORT = re.compile(r'^\s*(?:@testable\s+|@_exported\s+|@preconcurrency\s+)*import\s+'
                    r'(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)')


def imports_of(text):
    """The module names a Swift source imports (first path component of each import)."""
    return {m.group(1) for line in text.splitlines() if (m := IMPORT.match(line))}


def declared(target):
    """The module names a target from `swift package dump-package` lists as direct dependencies."""
    names = set()
    for dep in target.get('dependencies', []):
        for kind in ('byName', 'target', 'product'):
            if kind in dep:
                names.add(dep[kind][0])
    return names


def target_dir(target):
    if target.get('path'):
        return target['path']
    return os.path.join('Tests' if target['type'] == 'test' else 'Sources', target['name'])


def missing(manifest, read_sources):
    """[(target, module, file)] for imports of package modules a target does not declare.
    read_sources(dir) yields (path, text) of the target's Swift files."""
    targets = manifest['targets']
    known = {t['name'] for t in targets}
    for t in targets:
        known |= {d['product'][0] for d in t.get('dependencies', []) if 'product' in d}
    problems = []
    for t in targets:
        if t['type'] in ('system', 'binary', 'plugin'):
            continue
        allowed = declared(t) | {t['name']}
        for path, text in read_sources(target_dir(t)):
            for module in sorted(imports_of(text) & known - allowed):
                problems.append((t['name'], module, path))
    return problems


def swift_files(directory):
    for root, _, files in os.walk(directory):
        for name in sorted(files):
            if name.endswith('.swift'):
                path = os.path.join(root, name)
                with open(path, encoding='utf-8') as f:
                    yield path, f.read()


def main(argv):
    package = argv[1] if len(argv) > 1 else '.'
    os.chdir(package)
    manifest = json.loads(subprocess.run(['swift', 'package', 'dump-package'], check=True,
                                         capture_output=True, text=True).stdout)
    problems = missing(manifest, swift_files)
    for target, module, path in problems:
        print(f'{path}: imports {module}, which target {target} does not list in Package.swift', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
