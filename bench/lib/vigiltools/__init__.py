"""Python helpers of Vigil's bench/ and scripts/ shell scripts (standard library only).

Run a module as `PYTHONPATH=bench/lib python3 -m vigiltools.MODULE ARGS` (the scripts export PYTHONPATH).
Shared pieces: control (the agent's control socket), status (polling `status` until a predicate holds),
netns (network namespaces from Python), icmp, pcap, hamsg (Heartbeat's wire format), pinglog, stats.
Entry modules of the scripts: vmcluster, testbed, drillreport, conf, compare, fencing, drillcompare,
hbdetect, hbdropin, hbswitchover. Tests: bench/lib/tests (python3 -m unittest discover -s bench/lib/tests -t bench/lib).
"""
