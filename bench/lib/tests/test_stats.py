import io
import os
import tempfile
import unittest

from vigiltools import stats, vmcluster


class StatsTests(unittest.TestCase):
    def test_mmm(self):
        self.assertEqual(stats.mmm([3, 1, 2, 10]), (1, 2.5, 10))

    def test_cell_leaves_out_nan(self):
        self.assertEqual(stats.cell([5.0, float("nan"), 1.0, 3.0]), "1 / 3 / 5")
        self.assertEqual(stats.cell([float("nan")]), "-")
        self.assertEqual(stats.cell([1.25, 2.5], fmt="%.1f"), "1.2 / 1.9 / 2.5")

    def test_numbers_skip_placeholders(self):
        self.assertEqual(stats.numbers(["1.5", "NA", "", "-", "2"]), [1.5, 2.0])

    def test_cell_open(self):
        self.assertEqual(stats.cell_open(["10", "open", "30", "20"]), "10 / 20 / 30 (+1 open)")
        self.assertEqual(stats.cell_open(["open", "open"]), "open (2)")
        self.assertEqual(stats.cell_open(["-"]), "-")

    def test_keyvalues(self):
        self.assertEqual(stats.keyvalues("vigil interval=10ms min=40.1 median=45 runs=20"),
                         {"interval": "10ms", "min": "40.1", "median": "45", "runs": "20"})

    def test_tsv_summary(self):
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
            f.write("n\tdir\tgap ms\tlost\n1\tab\t100\t3\n2\tba\t300\t?\n3\tab\t200\t5\n")
        try:
            out = io.StringIO()
            stats.tsv_summary(f.name, out)
        finally:
            os.unlink(f.name)
        lines = out.getvalue().splitlines()
        self.assertEqual(lines[0], "all (3 migrations)")
        self.assertEqual(lines[2].split(), ["gap", "ms", "100.0", "200.0", "300.0"])
        self.assertEqual(lines[3].split(), ["lost", "3.0", "4.0", "5.0"])
        self.assertIn("a -> b (vigil standby a) (2 migrations)", lines)

    def test_migration_field(self):
        line = "VIGIL-MIGRATION from=a to=b downtime_ms=12 total_ms=3400"
        self.assertEqual(vmcluster.field(line, "downtime_ms"), "12")
        self.assertEqual(vmcluster.field(line, "wall_ms"), "?")
        self.assertEqual(vmcluster.field("xdowntime_ms=1", "downtime_ms"), "?")


if __name__ == "__main__":
    unittest.main()
