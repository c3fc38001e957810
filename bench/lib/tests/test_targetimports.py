"""targetimports: an import of a package module that the target does not declare is found."""
import unittest

from vigiltools import targetimports

MANIFEST = {'targets': [
    {'name': 'Core', 'type': 'regular', 'dependencies': []},
    {'name': 'Config', 'type': 'regular', 'dependencies': [{'byName': ['Core', None]}]},
    {'name': 'Agent', 'type': 'regular',
     'dependencies': [{'target': ['Core', None]}, {'product': ['NIOCore', 'swift-nio', None, None]}]},
    {'name': 'CLib', 'type': 'system', 'dependencies': []},
    {'name': 'AgentTests', 'type': 'test', 'dependencies': [{'byName': ['Agent', None]}]},
]}

SOURCES = {
    'Sources/Core': [('Sources/Core/a.swift', 'import Foundation\n')],
    'Sources/Config': [('Sources/Config/a.swift', 'import Core\n')],
    'Sources/Agent': [('Sources/Agent/a.swift', 'import NIOCore\nimport Config\nimport struct Core.X\n')],
    'Tests/AgentTests': [('Tests/AgentTests/t.swift', 'import Testing\n@testable import Agent\nimport NIOCore\n')],
}


class TargetImportsTests(unittest.TestCase):
    def test_imports_parsed(self):
        self.assertEqual(targetimports.imports_of('import A\n@testable import B\nimport struct C.D\n// import E\n'),
                         {'A', 'B', 'C'})

    def test_undeclared_package_modules_found(self):
        problems = targetimports.missing(MANIFEST, lambda d: SOURCES.get(d, []))
        self.assertEqual(problems, [('Agent', 'Config', 'Sources/Agent/a.swift'),
                                    ('AgentTests', 'NIOCore', 'Tests/AgentTests/t.swift')])


if __name__ == '__main__':
    unittest.main()
