"""The AI tools end to end: schemas, hostile calls, the MCP protocol, and the product
brief's conversations. Run by ctest (label tools) with Debian's python3 (jsonschema, h5py).

Environment: FRACSTUDY_BIN, MPIEXEC, FRACSTUDY_TEST_DATA.
"""
import base64
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

import h5py
import jsonschema

from fracstudy_e2e import BIN, MPI_ENV, fill_disk, text


def tool(workspace, name, arguments=None, *operator_options):
    """Calls `fracstudy tool`; returns (exit code, parsed JSON result)."""
    command = [BIN, "tool", "--workspace", str(workspace), "--ranks", "2", *operator_options, name]
    if arguments is not None:
        command.append(arguments if isinstance(arguments, str) else json.dumps(arguments))
    proc = subprocess.run(command, capture_output=True, text=True, env=MPI_ENV, timeout=120,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, json.loads(proc.stdout)


# Polling helpers raise the per-client call budget: on a slow machine a poll every half
# second for minutes would spend the default 60 calls a minute.
POLL_BUDGET = ("--max-calls-per-minute", "100000")


def wait_until_ended(workspace, study_id, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        code, status = tool(workspace, "check_study_status", {"study_id": study_id},
                            *POLL_BUDGET)
        assert code == 0, status
        if status["status"] in ("COMPLETED", "PARTIALLY_FAILED", "FAILED") and not status["active"]:
            return status
        time.sleep(0.5)
    raise AssertionError(f"{study_id} did not end")


def wait_until_inactive(workspace, study_id, timeout=120):
    """Polls check_study_status until the study neither runs nor is starting."""
    deadline = time.time() + timeout
    while tool(workspace, "check_study_status", {"study_id": study_id},
               *POLL_BUDGET)[1]["active"]:
        if time.time() > deadline:
            raise AssertionError(f"{study_id} still active after {timeout} s")
        time.sleep(0.3)


def studies_in(workspace):
    return sorted(p.name for p in Path(workspace).iterdir() if not p.name.startswith("."))


class Schemas(unittest.TestCase):
    def test_every_schema_is_valid_json_schema_2020_12(self):
        definitions = json.loads(subprocess.run([BIN, "tools"], capture_output=True,
                                                text=True, check=True).stdout)
        self.assertEqual([t["name"] for t in definitions],
                         ["run_parametric_study", "check_study_status", "wait_for_study",
                          "retry_failed_simulations", "list_studies", "get_study_results",
                          "cancel_study", "run_simulation"])
        for definition in definitions:
            with self.subTest(tool=definition["name"]):
                self.assertGreater(len(definition["description"]), 80)
                self.assertIn("Example", definition["description"])
                jsonschema.Draft202012Validator.check_schema(definition["inputSchema"])
                jsonschema.Draft202012Validator.check_schema(definition["outputSchema"])
                self.assertEqual(definition["inputSchema"]["type"], "object")
                self.assertEqual(definition["outputSchema"]["type"], "object")
                # Every field a tool returns is declared, errors included.
                self.assertFalse(definition["outputSchema"]["additionalProperties"])
                self.assertIn("error", definition["outputSchema"]["properties"])
                annotations = definition["annotations"]
                self.assertEqual(annotations["title"], definition["title"])
                read_only = definition["name"] in ("check_study_status", "wait_for_study",
                                                   "list_studies", "get_study_results",
                                                   "run_simulation")
                self.assertEqual(annotations["readOnlyHint"], read_only)
                self.assertEqual(annotations["destructiveHint"],
                                 definition["name"] == "cancel_study")

    def test_the_operators_limits_are_in_the_schemas_and_descriptions(self):
        definitions = json.loads(subprocess.run(
            [BIN, "tools", "--max-particles", "5000", "--max-running", "3",
             "--max-calls-per-minute", "40", "--task-time-limit", "120",
             "--study-time-limit", "900"], capture_output=True, text=True, check=True).stdout)
        run = definitions[0]
        base = run["inputSchema"]["properties"]["base_parameters"]["properties"]
        self.assertEqual(base["n_particles"]["maximum"], 5000)
        self.assertEqual(run["inputSchema"]["properties"]["grid"]["properties"]["n_particles"]
                         ["items"]["maximum"], 5000)
        for fragment in ("n_particles up to 5000", "3 studies running at once",
                         "stopped after 120 s", "run stopped after 900 s",
                         "40 tool calls per minute per client"):
            self.assertIn(fragment, run["description"])
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate({"algorithm": "DLA", "values": [100],
                                 "base_parameters": {"n_particles": 5001}}, run["inputSchema"])

    def test_the_briefs_example_arguments_validate_against_the_advertised_schema(self):
        definitions = json.loads(subprocess.run([BIN, "tools"], capture_output=True,
                                                text=True, check=True).stdout)
        schema = definitions[0]["inputSchema"]
        jsonschema.validate({"algorithm": "DLA", "variable_parameter": "n_particles",
                             "values": list(range(100, 1001, 100))}, schema)
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate({"algorithm": "DLA", "values": [1] * 101}, schema)


class HostileCalls(unittest.TestCase):
    """Wrong or hostile calls get the right error, and nothing is created or started."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.ws = Path(self.tmp.name) / "ws"
        self.outside = Path(self.tmp.name) / "outside"
        self.outside.mkdir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_table(self):
        dla = {"algorithm": "DLA", "values": [100]}
        cases = [
            ("run_parametric_study", {**dla, "name": "../evil"}, "name", "pattern"),
            ("run_parametric_study", {**dla, "name": "a;rm -rf /"}, "name", "pattern"),
            ("run_parametric_study", {**dla, "name": "$(touch /tmp/pwned)"}, "name", "pattern"),
            ("run_parametric_study", {**dla, "name": "x" * 65}, "name", "pattern"),
            ("check_study_status", {"study_id": "../../etc/passwd"}, "study_id", "pattern"),
            ("check_study_status", {"study_id": "/etc"}, "study_id", "pattern"),
            ("get_study_results", {"study_id": "nosuch"}, "study_id", "no study"),
            ("check_study_status", {}, "study_id", "is required"),
            ("run_parametric_study", {"algorithm": "DLA", "values": [100] * 101}, "values",
             "at most 100 items"),
            ("run_parametric_study", {**dla, "repetitions": 11}, "repetitions", "<= 10"),
            ("run_parametric_study", {"algorithm": "DLA", "values": ["100"]}, "values[0]",
             "must be a number"),
            ("run_parametric_study", {"algorithm": "dla", "values": [100]}, "algorithm", "one of"),
            ("run_parametric_study", {**dla, "shell": "ls"}, "shell", "not a known field"),
            ("run_parametric_study", {"algorithm": "DLA", "variable_parameter":
                                      "sticking_probability", "values": [0.5],
                                      "base_parameters": {"n_particles": 10**7}},
             "base_parameters.n_particles", "must be <= 100000"),
            ("run_parametric_study", {"algorithm": "DLA", "values": [10**7]}, "values",
             "exceeds the limit"),
            ("run_parametric_study", {"algorithm": "DLA", "values": [100, 200], "repetitions": 10},
             "values", "the limit is 15"),
            ("run_parametric_study", {**dla, "grid": {"dimension": [2, 3]}}, "grid", "not both"),
            ("run_parametric_study", {**dla, "base_parameters": {"volume_fraction": 0.1}},
             "base_parameters.volume_fraction", "is not a parameter of DLA"),
            ("run_parametric_study", {"algorithm": "DLA", "values": [0]}, "values[0]",
             "must be an integer from 1"),
            ("run_parametric_study", {**dla, "seed": 2**64}, "seed", "18446744073709551615"),
            ("delete_everything", {}, "name", "unknown tool"),
            ("run_parametric_study", "{not json", None, "not valid JSON"),
            ("run_parametric_study", "[1, 2]", None, "must be a JSON object"),
        ]
        for name, arguments, field, fragment in cases:
            with self.subTest(tool=name, arguments=arguments):
                code, result = tool(self.ws, name, arguments, "--max-tasks-per-study", "15")
                self.assertEqual(code, 2, result)
                self.assertEqual(result["error"]["field"], field)
                self.assertIn(fragment, result["error"]["message"])
        self.assertEqual(studies_in(self.ws), [])
        self.assertFalse(Path("/tmp/pwned").exists())

    def test_a_huge_grid_is_refused_by_its_count_before_it_is_expanded(self):
        # 100 x 100 x 100 x 50 = 5e7 points, schema-valid: expanding them took 2 GB before the
        # cap said no. Counted first, the refusal fits in a 512 MB address space.
        import resource
        grid = {"n_particles": list(range(100, 200)),
                "particle_radius": [1 + i / 100 for i in range(100)],
                "sticking_probability": [0.5 + i / 1000 for i in range(100)],
                "volume_fraction": [0.001 + i / 10000 for i in range(50)]}

        def half_a_gigabyte():
            resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))

        proc = subprocess.run([BIN, "tool", "--workspace", str(self.ws), "run_parametric_study",
                               json.dumps({"algorithm": "CCA", "grid": grid})],
                              capture_output=True, text=True, env=MPI_ENV, timeout=120,
                              stdin=subprocess.DEVNULL, preexec_fn=half_a_gigabyte)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        error = json.loads(proc.stdout)["error"]
        self.assertEqual(error["field"], "grid")
        self.assertIn("50000000 simulations", error["message"])
        self.assertEqual(studies_in(self.ws), [])

    def test_symlinks_in_the_workspace_are_never_followed(self):
        self.ws.mkdir()
        (self.ws / "evil").symlink_to(self.outside)
        code, result = tool(self.ws, "check_study_status", {"study_id": "evil"})
        self.assertEqual((code, result["error"]["field"]), (2, "study_id"))
        code, result = tool(self.ws, "run_parametric_study",
                            {"algorithm": "DLA", "values": [100], "name": "evil"})
        self.assertEqual((code, result["error"]["field"]), (2, "name"))
        self.assertEqual(list(self.outside.iterdir()), [])

    def test_planted_links_in_the_workspace_state_and_results_are_refused(self):
        # A .fracstudy link sent every call's bookkeeping outside the workspace; a
        # .fracstudy/calls link ended the server; a results.h5 link was read as the study's.
        self.ws.mkdir()
        (self.ws / ".fracstudy").symlink_to(self.outside)
        code, result = tool(self.ws, "list_studies", {})
        self.assertNotEqual(code, 0, result)
        self.assertEqual(list(self.outside.iterdir()), [])
        (self.ws / ".fracstudy").unlink()
        (self.ws / ".fracstudy").mkdir()
        trap = self.outside / "trap"
        trap.write_text("")
        (self.ws / ".fracstudy" / "calls").symlink_to(trap)
        code, result = tool(self.ws, "list_studies", {})
        self.assertEqual(code, 1, result)
        self.assertIn("call log", result["error"]["message"])
        self.assertEqual(trap.read_text(), "")
        (self.ws / ".fracstudy" / "calls").unlink()
        for name in ("real", "victim"):
            code, started = tool(self.ws, "run_parametric_study",
                                 {"algorithm": "DLA", "values": [100 if name == "real" else 200],
                                  "name": name})
            self.assertEqual(code, 0, started)
            wait_until_ended(self.ws, name)
        victim = self.ws / "victim" / "results.h5"
        victim.unlink()
        victim.symlink_to(self.ws / "real" / "results.h5")
        code, result = tool(self.ws, "get_study_results", {"study_id": "victim"})
        self.assertEqual(result.get("results", []), [], result)  # not the other study's

    def test_rate_limit_counts_every_call(self):
        for _ in range(3):
            self.assertEqual(tool(self.ws, "list_studies", {}, "--max-calls-per-minute", "3")[0], 0)
        code, result = tool(self.ws, "list_studies", {}, "--max-calls-per-minute", "3")
        self.assertEqual(code, 2)
        self.assertIn("rate limit", result["error"]["message"])

    def test_running_limit_then_cancel_and_retry(self):
        long = {"algorithm": "DLA", "values": [30000], "repetitions": 10, "name": "long"}
        code, started = tool(self.ws, "run_parametric_study", long, "--max-running", "1")
        self.assertEqual(code, 0, started)
        # No queue (--max-queued 0): a start over the cap is refused, as before queues.
        code, refused = tool(self.ws, "run_parametric_study",
                             {"algorithm": "DLA", "values": [100], "name": "second"},
                             "--max-running", "1", "--max-queued", "0")
        self.assertEqual(code, 2, refused)
        self.assertIn("studies are running", refused["error"]["message"])
        self.assertEqual(studies_in(self.ws), ["long"])
        code, cancelled = tool(self.ws, "cancel_study", {"study_id": "long"})
        self.assertEqual(code, 0)
        self.assertTrue(cancelled["cancel_requested"])
        wait_until_inactive(self.ws, "long")
        code, status = tool(self.ws, "check_study_status", {"study_id": "long"})
        if status["status"] != "COMPLETED":  # the drain stopped it before the end
            self.assertTrue(status["resumable"], status)
            code, retried = tool(self.ws, "retry_failed_simulations", {"study_id": "long"})
            self.assertEqual(code, 0, retried)
            self.assertGreater(retried["retrying"], 0)
            status = wait_until_ended(self.ws, "long")
        self.assertEqual(status["status"], "COMPLETED")
        self.assertEqual(status["progress"]["completed"], 10)


class RecycledPids(unittest.TestCase):
    """A run's launch record names its process by pid and start time: when the run has
    ended and the kernel gives its pid to another process, the study is not active and a
    cancel signals nobody (issue 15, defect 1)."""

    def test_a_recycled_pid_is_neither_active_nor_signalled(self):
        with tempfile.TemporaryDirectory() as ws:
            code, started = tool(ws, "run_parametric_study",
                                 {"algorithm": "DLA", "values": [100], "name": "done"})
            self.assertEqual(code, 0, started)
            wait_until_ended(ws, "done")
            # The pid goes to another process: a stranger we start.
            stranger = subprocess.Popen(["sleep", "60"])
            try:
                launch = Path(ws) / "done" / "launch.json"
                record = json.loads(launch.read_text())
                record["pid"] = stranger.pid
                launch.write_text(json.dumps(record))
                code, status = tool(ws, "check_study_status", {"study_id": "done"})
                self.assertEqual(code, 0, status)
                self.assertFalse(status["active"])
                code, cancelled = tool(ws, "cancel_study", {"study_id": "done"})
                time.sleep(0.3)
                self.assertIsNone(stranger.poll(), "cancel_study signalled a stranger")
                # A new study is not refused as if the stranger were a running study.
                code, second = tool(ws, "run_parametric_study",
                                    {"algorithm": "DLA", "values": [100], "name": "next"},
                                    "--max-running", "1")
                self.assertEqual(code, 0, second)
                wait_until_ended(ws, "next")
            finally:
                stranger.kill()
                stranger.wait()


# A study of about 15 s of work (60 DLA clusters of about 10^5 particles; the tools allow at
# most 10 repetitions of a value), for tests that stop a run after a second or two: 10
# clusters of 10^5 take 2.5 s in all, which two workers finished inside a 2 s budget.
SECONDS_OF_WORK = {"algorithm": "DLA", "values": [100000, 99000, 98000, 97000, 96000, 95000],
                   "repetitions": 10}
SECONDS_OF_WORK_TASKS = len(SECONDS_OF_WORK["values"]) * SECONDS_OF_WORK["repetitions"]


class Cancels(unittest.TestCase):
    """A cancel right after a start is never lost: it is kept in the study folder, and the
    run looks for it from its first moment (issue 15, defects 3 and 7)."""

    def test_a_cancel_at_once_after_the_start_ends_cancelled_and_retry_finishes(self):
        with tempfile.TemporaryDirectory() as ws:
            long = {**SECONDS_OF_WORK, "name": "long"}
            code, started = tool(ws, "run_parametric_study", long)
            self.assertEqual(code, 0, started)
            code, cancelled = tool(ws, "cancel_study", {"study_id": "long"})
            self.assertEqual(code, 0, cancelled)
            self.assertTrue(cancelled["cancel_requested"])
            wait_until_inactive(ws, "long")
            code, status = tool(ws, "check_study_status", {"study_id": "long"})
            self.assertEqual(status["status"], "CANCELLED", status)
            self.assertLess(status["progress"]["completed"], SECONDS_OF_WORK_TASKS)
            self.assertTrue(status["resumable"], status)
            self.assertIn("stopped as cancel asked", status["reason"])
            code, retried = tool(ws, "retry_failed_simulations", {"study_id": "long"})
            self.assertEqual(code, 0, retried)
            status = wait_until_ended(ws, "long")
            self.assertEqual(status["status"], "COMPLETED")
            self.assertEqual(status["progress"]["completed"], SECONDS_OF_WORK_TASKS)


class Admission(unittest.TestCase):
    """--max-running holds across processes started at the same moment, and for retries
    (issue 15, defect 4: 20 parallel calls got 3 starts with a cap of 2)."""

    def test_parallel_starts_and_a_retry_respect_the_running_cap(self):
        with tempfile.TemporaryDirectory() as ws:
            # Long enough that no running study ends (and starts a waiting one, freeing a place
            # in the queue) before the retry below: 3·10^4 particles ran out once at a fast hour,
            # and 10 clusters of 10^5 take 2.5 s by now. The studies are cancelled at the end.
            long = SECONDS_OF_WORK
            options = ("--max-running", "2", "--max-queued", "16", "--max-calls-per-minute",
                       "1000")
            # A study stopped before its end: a retry would start it again.
            code, _ = tool(ws, "run_parametric_study", {**long, "name": "stopped"}, *options)
            self.assertEqual(code, 0)
            tool(ws, "cancel_study", {"study_id": "stopped"}, *options)
            self.wait_inactive(ws, options)
            command = [BIN, "tool", "--workspace", ws, "--ranks", "2", *options,
                       "run_parametric_study"]
            calls = [subprocess.Popen(command + [json.dumps({**long, "name": f"s{i}"})],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      env=MPI_ENV, stdin=subprocess.DEVNULL)
                     for i in range(20)]
            codes = [call.wait(timeout=120) for call in calls]
            try:
                # Two run, sixteen wait (the queue's limit), two are refused.
                self.assertEqual(codes.count(0), 18, codes)
                self.assertEqual(codes.count(2), 2, codes)
                statuses = [tool(ws, "check_study_status", {"study_id": study_id}, *options)[1]
                            for study_id in studies_in(ws) if study_id != "stopped"]
                self.assertLessEqual(sum(status["active"] for status in statuses), 2)
                self.assertEqual(sorted(status["queue_position"] for status in statuses
                                        if "queue_position" in status), list(range(1, 17)))
                # A retry is a start like any other: refused while the cap is reached.
                code, refused = tool(ws, "retry_failed_simulations", {"study_id": "stopped"},
                                     *options)
                self.assertEqual(code, 2, refused)
                self.assertIn("studies are running", refused["error"]["message"])
            finally:
                # The waiting ones first: a running one's end would start the next.
                for _ in range(2):
                    for study_id in reversed(studies_in(ws)):
                        tool(ws, "cancel_study", {"study_id": study_id}, *options)
                self.wait_inactive(ws, options)

    def wait_inactive(self, ws, options):
        deadline = time.time() + 120
        while any(tool(ws, "check_study_status", {"study_id": study_id}, *options)[1]
                  .get("active") for study_id in studies_in(ws)):
            self.assertLess(time.time(), deadline)
            time.sleep(0.3)


class McpProtocol(unittest.TestCase):
    """Malformed JSON-RPC gets JSON-RPC errors; stdout carries nothing but protocol."""

    def serve(self, workspace, lines):
        """The replies of `fracstudy mcp` to `lines`, one message each, in one session that
        must end with exit 0."""
        proc = subprocess.run([BIN, "mcp", "--workspace", workspace],
                              input="\n".join(lines) + "\n", capture_output=True, text=True,
                              timeout=60, env=MPI_ENV)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return [json.loads(line) for line in proc.stdout.splitlines()]

    def test_malformed_requests(self):
        # Ten malformed messages, each answered with a JSON-RPC error, between a session's
        # start and a ping that shows the server alive at the end.
        with tempfile.TemporaryDirectory() as tmp:
            malformed = [
                ("this is not json", -32700),
                ("[]", -32600),
                (json.dumps({"jsonrpc": "1.0", "id": 1, "method": "ping"}), -32600),
                (json.dumps({"jsonrpc": "2.0", "id": 2, "method": "no/such/method"}), -32601),
                (json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {}}),
                 -32602),
                (json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                             "params": {"name": "rm_rf", "arguments": {}}}), -32602),
                (json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": [1]}),
                 -32602),
                (json.dumps({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}), -32600),
                (json.dumps({"jsonrpc": "2.0", "id": 7, "method": 7}), -32600),
                ('{"jsonrpc": "2.0", "id": 8, "method": "pi', -32700),
            ]
            lines = [
                json.dumps({"jsonrpc": "2.0", "id": 100, "method": "ping"}),
                json.dumps({"jsonrpc": "2.0", "id": 101, "method": "tools/list"}),
                json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                            "params": {"protocolVersion": "1999-01-01", "capabilities": {},
                                       "clientInfo": {"name": "t", "version": "0"}}}),
                json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                *[line for line, _ in malformed],
                json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                            "params": {"name": "run_parametric_study",
                                       "arguments": {"algorithm": "DLA", "name": "../x",
                                                     "values": [100]}}}),
                json.dumps({"jsonrpc": "2.0", "id": 10, "method": "ping"}),
            ]
            replies = self.serve(tmp, lines)
            self.assertEqual(len(replies), 15)  # the notification gets no answer
            # A tool call is answered from a thread of its own, whenever it is done.
            hostile = next(r for r in replies if r.get("id") == 9)
            replies.remove(hostile)
            # Before initialize: a ping is answered, anything else refused.
            self.assertEqual(replies[0], {"jsonrpc": "2.0", "id": 100, "result": {}})
            self.assertEqual(replies[1]["error"]["code"], -32002)
            self.assertEqual(replies[2]["result"]["protocolVersion"], "2025-06-18")
            codes = [reply.get("error", {}).get("code") for reply in replies[3:13]]
            self.assertEqual(codes, [code for _, code in malformed])
            self.assertTrue(hostile["result"]["isError"])
            self.assertEqual(hostile["result"]["structuredContent"]["error"]["field"], "name")
            self.assertEqual(replies[13], {"jsonrpc": "2.0", "id": 10, "result": {}})
            self.assertEqual(studies_in(tmp), [])

    def test_messages_of_the_wrong_types_are_answered_and_the_server_goes_on(self):
        # Each of these threw out of the JSON library and ended the server (exit 1).
        with tempfile.TemporaryDirectory() as tmp:
            lines = [
                json.dumps({"jsonrpc": 2, "id": 1, "method": "ping"}),
                json.dumps({"jsonrpc": "2.0", "id": 2, "method": "initialize",
                            "params": {"protocolVersion": 20250618, "capabilities": {},
                                       "clientInfo": {"name": "t", "version": "0"}}}),
                json.dumps({"jsonrpc": "2.0", "id": 3, "method": "x" * 100000}),
                json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                            "params": {"name": "y" * 100000, "arguments": {}}}),
                json.dumps({"jsonrpc": ["2.0"], "id": {"a": 1}, "method": 7}),
                json.dumps({"jsonrpc": "2.0", "id": 5, "method": "ping"}),
            ]
            replies = self.serve(tmp, lines)
            self.assertEqual(len(replies), 6, replies)
            self.assertEqual(replies[0]["error"]["code"], -32600)
            self.assertEqual(replies[1]["result"]["protocolVersion"], "2025-06-18")
            self.assertEqual(replies[2]["error"]["code"], -32601)
            self.assertEqual(replies[3]["error"]["code"], -32602)
            for reply in replies[2:4]:  # what the client sent is not echoed back whole
                self.assertLess(len(reply["error"]["message"]), 200)
            self.assertEqual(replies[4]["error"]["code"], -32600)
            self.assertIsNone(replies[4]["id"])
            self.assertEqual(replies[5], {"jsonrpc": "2.0", "id": 5, "result": {}})

    def test_unicode_names_deep_nesting_and_responses_do_not_end_the_server(self):
        # A name cut inside a character in the error's echo made the answer invalid UTF-8
        # (the server ended, exit 1); 150,000 nested arrays in 300 kB crashed it (SIGSEGV).
        deep = "[" * 150000 + "]" * 150000
        with tempfile.TemporaryDirectory() as tmp:
            lines = [
                json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                            "params": {"protocolVersion": "2024-11-05", "capabilities": {},
                                       "clientInfo": {"name": "t", "version": "0"}}}),
                json.dumps({"jsonrpc": "2.0", "id": 2, "method": "a" + "\u00e9" * 40}),
                json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                            "params": {"name": "b" + "\u00e9" * 40, "arguments": {}}}),
                '{"jsonrpc": "2.0", "id": 4, "method": "ping", "params": {"a": ' + deep + '}}',
                '{"jsonrpc": "2.0", "method": "notifications/x", "params": ' + deep + '}',
                json.dumps({"jsonrpc": "2.0", "id": 15, "result": {}}),  # a response: unanswered
                json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/list",
                            "params": {"cursor": "garbage"}}),
                json.dumps({"jsonrpc": "2.0", "id": 6, "method": "ping"}),
            ]
            replies = self.serve(tmp, lines)
            self.assertEqual(len(replies), 7, replies)
            # Only the version whose rules it follows is offered (2024-11-05 has no batches
            # refused and no resource links); the client decides.
            self.assertEqual(replies[0]["result"]["protocolVersion"], "2025-06-18")
            self.assertEqual(replies[1]["error"]["code"], -32601)
            self.assertEqual(replies[2]["error"]["code"], -32602)
            self.assertIn("\u00e9", replies[1]["error"]["message"])
            self.assertEqual(replies[3]["error"]["code"], -32700)
            self.assertIn("nested deeper than", replies[3]["error"]["message"])
            self.assertEqual(replies[4]["error"]["code"], -32700)  # the notification's
            self.assertEqual(replies[5]["error"]["code"], -32602)  # the cursor: none given out
            self.assertEqual(replies[6], {"jsonrpc": "2.0", "id": 6, "result": {}})
            proc = subprocess.run([BIN, "tool", "--workspace", tmp, "list_studies"],
                                  input='{"a": ' + deep + '}', capture_output=True, text=True,
                                  timeout=60, env=MPI_ENV)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("nested deeper than", json.loads(proc.stdout)["error"]["message"])
            # An unknown field's name is echoed cut short, not whole (800 kB came back twice).
            proc = subprocess.run([BIN, "tool", "--workspace", tmp, "list_studies"],
                                  input=json.dumps({"k" * 800000: 1}), capture_output=True,
                                  text=True, timeout=60, env=MPI_ENV)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertLess(len(proc.stdout), 2000)

    def test_an_oversized_message_is_answered_and_skipped(self):
        # Two megabytes on one line (past the 1 MiB cap): an invalid-request error, then
        # the server goes on with the next message. The same cap holds for `fracstudy tool`.
        with tempfile.TemporaryDirectory() as tmp:
            huge = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping",
                               "params": {"pad": "x" * (2 << 20)}})
            ping = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"})
            proc = subprocess.run([BIN, "mcp", "--workspace", tmp], input=huge + "\n" + ping + "\n",
                                  capture_output=True, text=True, timeout=60, env=MPI_ENV)
            replies = [json.loads(line) for line in proc.stdout.splitlines()]
            self.assertEqual(replies[0]["error"]["code"], -32600)
            self.assertIn("longer than", replies[0]["error"]["message"])
            self.assertEqual(replies[1], {"jsonrpc": "2.0", "id": 2, "result": {}})
            proc = subprocess.run([BIN, "tool", "--workspace", tmp, "check_study_status"],
                                  input=json.dumps({"study_id": "x" * (2 << 20)}),
                                  capture_output=True, text=True, timeout=60, env=MPI_ENV)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("longer than", json.loads(proc.stdout)["error"]["message"])
            self.assertEqual(studies_in(tmp), [])


class Conversations(unittest.TestCase):
    """The product brief's examples, as an assistant would turn them into tool calls."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.ws = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_dla_sweep_from_100_to_1000_in_steps_of_100(self):
        # "Run a parameter sweep of DLA with n_particles from 100 to 1000 in steps of 100"
        # Named: a study's name enters its tasks' seeds, so the clusters (and the sweep's df
        # below) are the same at every run of this test; unnamed, the generated name holds
        # the time, and one draw in many read 1.49 from these ten single clusters.
        arguments = {"algorithm": "DLA", "variable_parameter": "n_particles",
                     "values": [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000],
                     "name": "dla_sweep_100_1000"}
        code, started = tool(self.ws, "run_parametric_study", arguments)
        self.assertEqual(code, 0, started)
        self.assertEqual(started["total_simulations"], 10)
        status = wait_until_ended(self.ws, started["study_id"])
        self.assertEqual(status["status"], "COMPLETED")
        self.assertEqual(status["progress"]["total"], 10)
        _, results = tool(self.ws, "get_study_results", {"study_id": started["study_id"]})
        self.assertEqual([row["parameters"]["n_particles"] for row in results["results"]],
                         arguments["values"])
        _, listing = tool(self.ws, "list_studies", {})
        self.assertEqual(len(listing["studies"]), 1)
        # Every statistic of every metric the file defines reaches the agent (kf included).
        with h5py.File(self.ws / started["study_id"] / "results.h5", "r") as f:
            wanted = {f"{stat}_{text(m['name'])}" for m in f["metrics"][()]
                      for stat in text(m["statistics"]).split(",")}
        self.assertIn("sem_kf", wanted)
        for row in results["results"]:
            self.assertLessEqual(wanted, set(row))
            self.assertIsInstance(row["flags"], list)
        # A sweep over n_particles gives a study-level df: Rg of the points against N (one
        # cluster each, so its error comes from the residuals).
        sweep = results["df_from_sweep"]
        self.assertEqual(sweep["points"], 10)
        self.assertFalse(sweep["weighted"])
        self.assertGreater(sweep["df"], 1.5)
        self.assertLess(sweep["df"], 1.9)
        self.assertGreater(sweep["df_err"], 0)
        jsonschema.validate(results, output_schema_of("get_study_results"))
        # The run's printed summary ends with the same study-level df.
        printed = (self.ws / started["study_id"] / "run.log").read_text()
        self.assertIn(f"over 10 points): {sweep['df']:.3f} +- {sweep['df_err']:.3f}", printed)

    def test_a_point_whose_fit_spans_less_than_a_decade_is_flagged(self):
        code, started = tool(self.ws, "run_parametric_study",
                             {"algorithm": "DLA", "values": [15, 200], "name": "tiny"})
        self.assertEqual(code, 0, started)
        wait_until_ended(self.ws, "tiny")
        _, results = tool(self.ws, "get_study_results", {"study_id": "tiny"})
        flags = [row["flags"] for row in results["results"]]
        # N = 15: the growth fit runs from 10 to 15; N = 200: from 20 to 200, a decade.
        self.assertIn("fit_window_under_a_decade", flags[0])
        self.assertNotIn("fit_window_under_a_decade", flags[1])
        # The same flags in the file's exports (CSV: joined by ';'; JSON: a list) and in
        # the summary the run printed.
        result_file = str(self.ws / "tiny" / "results.h5")
        csv_rows = list(csv.DictReader(io.StringIO(subprocess.run(
            [BIN, "export", result_file, "--table", "summary"], capture_output=True, text=True,
            check=True).stdout)))
        self.assertEqual([row["flags"].split(";") if row["flags"] else [] for row in csv_rows],
                         flags)
        exported = json.loads(subprocess.run(
            [BIN, "export", result_file, "--table", "summary", "--format", "json"],
            capture_output=True, text=True, check=True).stdout)
        self.assertEqual([row["flags"] for row in exported], flags)
        printed = (self.ws / "tiny" / "run.log").read_text()
        header = next(line for line in printed.splitlines() if "n_particles" in line)
        self.assertTrue(header.rstrip().endswith("flags"), printed)
        self.assertRegex(printed, r"\n\s+15\s.*fit_window_under_a_decade")

    def test_compare_cca_and_dla_for_n_500_with_5_repetitions_each(self):
        # "Compare CCA and DLA for n=500 with 5 repetitions each": two calls.
        ids = {}
        # Named studies: a study's name enters its tasks' seeds, so generated names (which
        # hold the time) would draw other clusters at every run of this test.
        for algorithm in ("DLA", "CCA"):
            code, started = tool(self.ws, "run_parametric_study",
                                 {"algorithm": algorithm, "values": [500], "repetitions": 5,
                                  "name": f"{algorithm.lower()}_n500"})
            self.assertEqual(code, 0, started)
            self.assertEqual(started["total_simulations"], 5)
            ids[algorithm] = started["study_id"]
        rows = {}
        for algorithm, study_id in ids.items():
            self.assertEqual(wait_until_ended(self.ws, study_id)["status"], "COMPLETED")
            _, results = tool(self.ws, "get_study_results", {"study_id": study_id})
            self.assertEqual(results["algorithm"], algorithm)
            [rows[algorithm]] = results["results"]
            self.assertEqual(rows[algorithm]["parameters"]["n_particles"], 500)
            self.assertEqual(rows[algorithm]["n_samples"], 5)
        # Comparable: cluster-cluster aggregates are more open than DLA's (df about 1.49
        # against 1.61 at N = 500 in 2D; five samples have a standard error of about 0.03).
        difference = rows["DLA"]["mean_df"] - rows["CCA"]["mean_df"]
        spread = (rows["DLA"]["sem_df"] ** 2 + rows["CCA"]["sem_df"] ** 2) ** 0.5
        self.assertGreater(difference, 2 * spread, rows)


def output_schema_of(name, *operator_options):
    definitions = json.loads(subprocess.run([BIN, "tools", *operator_options], capture_output=True,
                                            text=True, check=True).stdout)
    return next(d for d in definitions if d["name"] == name)["outputSchema"]


class OperatorLimits(unittest.TestCase):
    """What one study may cost is bounded by the operator (issue 15, defect 5), and the
    rate limit is counted per client (defect 9)."""

    def test_a_simulation_past_the_task_time_limit_is_stopped(self):
        # sticking_probability 1e-6 with 10^5 particles would hold its slot for hours.
        with tempfile.TemporaryDirectory() as ws:
            code, started = tool(ws, "run_parametric_study",
                                 {"algorithm": "DLA", "values": [100000], "name": "sticky",
                                  "base_parameters": {"sticking_probability": 1e-6}},
                                 "--task-time-limit", "1")
            self.assertEqual(code, 0, started)
            begin = time.time()
            status = wait_until_ended(ws, "sticky", timeout=120)
            self.assertEqual(status["status"], "FAILED", status)
            self.assertLess(time.time() - begin, 60)
            self.assertEqual(status["failures"], {"timeout": 1})
            self.assertIn("task_time_limit_s: 1",
                          (Path(ws) / "sticky" / "study.yaml").read_text())

    def test_a_run_past_the_study_time_limit_stops_interrupted_and_retry_continues(self):
        with tempfile.TemporaryDirectory() as ws:
            options = ("--study-time-limit", "2")
            code, started = tool(ws, "run_parametric_study",
                                 {**SECONDS_OF_WORK, "name": "budget"}, *options)
            self.assertEqual(code, 0, started)
            begin = time.time()
            deadline = begin + 120
            while True:
                code, status = tool(ws, "check_study_status", {"study_id": "budget"})
                if not status["active"]:
                    break
                self.assertLess(time.time(), deadline)
                time.sleep(0.3)
            self.assertEqual(status["status"], "INTERRUPTED", status)
            self.assertLess(status["progress"]["completed"], SECONDS_OF_WORK_TASKS)
            self.assertIn("time limit of 2 s", status["reason"])
            self.assertTrue(status["resumable"])
            # Kept in the file by the run itself: its forwarded output may be lost.
            with h5py.File(Path(ws) / "budget" / "results.h5", "r") as f:
                self.assertIn("time limit of 2 s", text(f.attrs["stop_reason"]))
            jsonschema.validate(status, output_schema_of("check_study_status"))
            code, retried = tool(ws, "retry_failed_simulations", {"study_id": "budget"},
                                 "--study-time-limit", "600")
            self.assertEqual(code, 0, retried)
            self.assertEqual(wait_until_ended(ws, "budget")["status"], "COMPLETED")

    def test_one_flooding_client_does_not_spend_another_clients_calls(self):
        with tempfile.TemporaryDirectory() as ws:
            options = ("--max-calls-per-minute", "5")
            codes = [tool(ws, "list_studies", {}, *options, "--client", "flood")[0]
                     for _ in range(7)]
            self.assertEqual(codes, [0] * 5 + [2] * 2)
            code, refused = tool(ws, "list_studies", {}, *options, "--client", "flood")
            self.assertIn("per client", refused["error"]["message"])
            code, listing = tool(ws, "list_studies", {}, *options, "--client", "other")
            self.assertEqual(code, 0, listing)

    def test_unnamed_studies_started_at_the_same_moment_get_different_ids(self):
        with tempfile.TemporaryDirectory() as ws:
            command = [BIN, "tool", "--workspace", ws, "--ranks", "1", "--max-running", "20",
                       "run_parametric_study", json.dumps({"algorithm": "EDEN", "values": [50]})]
            calls = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      env=MPI_ENV, stdin=subprocess.DEVNULL, text=True)
                     for _ in range(6)]
            outputs = [call.communicate(timeout=120) for call in calls]
            self.assertEqual([call.returncode for call in calls], [0] * 6, outputs)
            ids = [json.loads(out)["study_id"] for out, _ in outputs]
            self.assertEqual(len(set(ids)), 6, ids)
            for study_id in ids:
                self.assertEqual(wait_until_ended(ws, study_id)["status"], "COMPLETED")


class Liveness(unittest.TestCase):
    """What a status says while a run starts, after it crashes, and while its rank 0
    outlives its mpirun (issue 15, defects 7 and 9)."""

    def test_a_starting_run_shows_its_total_and_a_crashed_run_a_reason(self):
        with tempfile.TemporaryDirectory() as ws:
            code, started = tool(ws, "run_parametric_study",
                                 {"algorithm": "DLA", "values": [100, 200], "repetitions": 3,
                                  "name": "young"})
            code, status = tool(ws, "check_study_status", {"study_id": "young"})
            self.assertEqual(code, 0, status)
            self.assertEqual(status["progress"]["total"], 6)  # known before the file exists
            self.assertEqual(wait_until_ended(ws, "young")["status"], "COMPLETED")
            # A run that ended without writing results: FAILED with a reason, the same
            # shape as any status (no "error" string where tool errors are objects).
            (Path(ws) / "young" / "results.h5").unlink()
            code, status = tool(ws, "check_study_status", {"study_id": "young"})
            self.assertEqual(status["status"], "FAILED", status)
            self.assertNotIn("error", status)
            self.assertIsInstance(status["reason"], str)
            self.assertFalse(status["resumable"])
            jsonschema.validate(status, output_schema_of("check_study_status"))

    def test_a_study_being_created_is_not_seen_as_failed(self):
        # Between the folder's mkdir and its queue entry or launch, another session saw the
        # study FAILED ("ended without results", not resumable) and an agent gave it up.
        # Its folder as its creator leaves it midway: the study file, no launch, no log.
        with tempfile.TemporaryDirectory() as ws:
            tool(ws, "run_parametric_study", {"algorithm": "DLA", "values": [100],
                                              "name": "done"})
            wait_until_ended(ws, "done")
            young = Path(ws) / "young"
            young.mkdir()
            (young / "study.yaml").write_text((Path(ws) / "done" / "study.yaml").read_text()
                                              .replace("name: done", "name: young"))
            code, status = tool(ws, "check_study_status", {"study_id": "young"})
            self.assertEqual(code, 0, status)
            self.assertEqual(status["status"], "CREATED", status)
            self.assertTrue(status["active"])
            self.assertNotIn("reason", status)
            jsonschema.validate(status, output_schema_of("check_study_status"))
            code, waited = tool(ws, "wait_for_study", {"study_id": "young", "timeout_s": 0})
            self.assertFalse(waited["finished"], waited)

    def test_fifos_planted_in_a_study_folder_block_no_call(self):
        with tempfile.TemporaryDirectory() as ws:
            code, started = tool(ws, "run_parametric_study",
                                 {"algorithm": "DLA", "values": [100], "name": "piped"})
            wait_until_ended(ws, "piped")
            folder = Path(ws) / "piped"
            for name in ("run.log", ".results.h5.lock", "launch.json"):
                (folder / name).unlink(missing_ok=True)
                os.mkfifo(folder / name)
            begin = time.time()
            code, status = tool(ws, "check_study_status", {"study_id": "piped"})
            self.assertEqual(code, 0, status)
            self.assertEqual(status["status"], "COMPLETED")
            self.assertFalse(status["active"])
            code, results = tool(ws, "get_study_results", {"study_id": "piped"})
            self.assertEqual(code, 0, results)
            self.assertLess(time.time() - begin, 30)

    def test_a_killed_retry_does_not_show_the_words_of_the_run_before_it(self):
        # cancel, retry, SIGKILL the retry: the reason is the kill's, not the cancel's.
        with tempfile.TemporaryDirectory() as ws:
            long = {**SECONDS_OF_WORK, "name": "twice"}
            tool(ws, "run_parametric_study", long)
            tool(ws, "cancel_study", {"study_id": "twice"})
            tool(ws, "wait_for_study", {"study_id": "twice", "timeout_s": 120})
            code, retried = tool(ws, "retry_failed_simulations", {"study_id": "twice"})
            self.assertEqual(code, 0, retried)
            time.sleep(2)
            launch = json.loads((Path(ws) / "twice" / "launch.json").read_text())
            os.kill(launch["pid"], 9)
            code, status = tool(ws, "wait_for_study", {"study_id": "twice", "timeout_s": 120})
            self.assertEqual(status["status"], "INTERRUPTED", status)
            self.assertNotIn("cancel", status["reason"])
            self.assertIn("without a word", status["reason"])

    def test_rank_0_holding_the_result_lock_keeps_the_study_active(self):
        import fcntl
        with tempfile.TemporaryDirectory() as ws:
            code, started = tool(ws, "run_parametric_study",
                                 {"algorithm": "DLA", "values": [100], "name": "orphan"})
            wait_until_ended(ws, "orphan")
            # Its mpirun is gone (the launch record names a dead process) while a process
            # still holds the result file's lock, as rank 0 does to its end.
            with open(Path(ws) / "orphan" / ".results.h5.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                code, status = tool(ws, "check_study_status", {"study_id": "orphan"})
                self.assertTrue(status["active"], status)
                code, cancelled = tool(ws, "cancel_study", {"study_id": "orphan"})
                self.assertTrue(cancelled["cancel_requested"])
                self.assertTrue((Path(ws) / "orphan" / "cancel").exists())
            code, status = tool(ws, "check_study_status", {"study_id": "orphan"})
            self.assertFalse(status["active"], status)


class Mcp:
    """A `fracstudy mcp` session over pipes, read by a thread: messages as they come."""

    def __init__(self, workspace, *options):
        self.proc = subprocess.Popen([BIN, "mcp", "--workspace", str(workspace), "--ranks", "2",
                                      *options], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1, env=MPI_ENV)
        self.messages = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.send({"jsonrpc": "2.0", "id": "init", "method": "initialize",
                   "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                              "clientInfo": {"name": "test", "version": "0"}}})
        self.reply("init")

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.messages.append((time.time(), json.loads(line)))

    def send(self, message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def call(self, request_id, name, arguments, progress_token=None):
        params = {"name": name, "arguments": arguments}
        if progress_token is not None:
            params["_meta"] = {"progressToken": progress_token}
        self.send({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})

    def reply(self, request_id, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for when, message in self.messages:
                    if message.get("id") == request_id and "method" not in message:
                        return when, message
            time.sleep(0.05)
        raise AssertionError(f"no reply to {request_id}")

    def notifications(self, token):
        with self.lock:
            return [m["params"] for _, m in self.messages
                    if m.get("method") == "notifications/progress"
                    and m["params"]["progressToken"] == token]

    def close(self):
        self.proc.stdin.close()
        return self.proc.wait(timeout=120)


def launched_at(workspace, study_id):
    """When the study's (latest) run was launched: launch.json's mtime in ns; None if never."""
    launch = Path(workspace) / study_id / "launch.json"
    return launch.stat().st_mtime_ns if launch.exists() else None


def runs_started(workspace, study_id):
    """How many runs the tools started of a study: the markers start() writes in its log."""
    log = Path(workspace) / study_id / "run.log"
    return log.read_text().count("fracstudy-tools: a run starts") if log.exists() else 0


def wait_all_ended(workspace, study_ids, *options, timeout=300):
    statuses = {}
    deadline = time.time() + timeout
    for study_id in study_ids:
        while True:
            code, status = tool(workspace, "check_study_status", {"study_id": study_id}, *options,
                                *POLL_BUDGET)
            assert code == 0, status
            if not status["active"] and "queue_position" not in status:
                statuses[study_id] = status
                break
            assert time.time() < deadline, f"{study_id} did not end: {status}"
            time.sleep(0.3)
    return statuses


# A study that holds its slot for several seconds with one worker (3D DLA of 10^5 particles
# takes about 1.5 s here), and short ones that end in well under a second.
HOLDS_A_SLOT = {"algorithm": "DLA", "values": [100000], "repetitions": 4,
                "base_parameters": {"dimension": 3}}
SHORT = {"algorithm": "DLA", "values": [2000]}


class Queues(unittest.TestCase):
    """Over the running cap, studies wait in a queue and start by themselves in priority
    order, then oldest first, each exactly once (issue 18)."""

    def test_high_jumps_the_queue_batch_waits_and_a_cancelled_waiter_never_starts(self):
        with tempfile.TemporaryDirectory() as ws:
            cap = ("--max-running", "1")
            self.assertEqual(tool(ws, "run_parametric_study", {**HOLDS_A_SLOT, "name": "first"},
                                  *cap)[0], 0)
            submitted = {}
            for name, priority in [("second", "batch"), ("third", "high"), ("fourth", "normal"),
                                   ("fifth", "batch")]:
                code, reply = tool(ws, "run_parametric_study",
                                   {**SHORT, "name": name, "priority": priority}, *cap)
                self.assertEqual(code, 0, reply)
                self.assertFalse(reply["started"], reply)
                self.assertEqual(reply["status"], "QUEUED")
                submitted[name] = reply["queue_position"]
            # Each was told its place when it came: batch at the end, high at the front.
            self.assertEqual(submitted, {"second": 1, "third": 1, "fourth": 2, "fifth": 4})
            code, listed = tool(ws, "list_studies", {}, *cap)
            by_id = {study["study_id"]: study for study in listed["studies"]}
            self.assertTrue(by_id["first"]["active"], "the first study ended too soon to test")
            self.assertEqual({k: v.get("queue_position") for k, v in by_id.items()},
                             {"first": None, "third": 1, "fourth": 2, "second": 3, "fifth": 4})
            self.assertEqual(by_id["third"]["priority"], "high")
            jsonschema.validate(listed, output_schema_of("list_studies"))
            code, cancelled = tool(ws, "cancel_study", {"study_id": "fourth"}, *cap)
            self.assertEqual(code, 0, cancelled)
            self.assertEqual(cancelled["status"], "CANCELLED")
            listed = {study["study_id"]: study.get("queue_position")
                      for study in tool(ws, "list_studies", {}, *cap)[1]["studies"]}
            self.assertIsNone(listed["fourth"])  # out of the queue; batch behind batch
            self.assertLess(listed["second"], listed["fifth"])
            statuses = wait_all_ended(ws, ["first", "third", "second", "fifth", "fourth"], *cap)
            for name in ("first", "second", "third", "fifth"):
                self.assertEqual(statuses[name]["status"], "COMPLETED", statuses[name])
                self.assertEqual(runs_started(ws, name), 1, name)
            order = sorted(["first", "second", "third", "fifth"], key=lambda n: launched_at(ws, n))
            self.assertEqual(order, ["first", "third", "second", "fifth"])
            self.assertEqual(statuses["fourth"]["status"], "CANCELLED")
            self.assertIn("never started", statuses["fourth"]["reason"])
            self.assertIsNone(launched_at(ws, "fourth"))
            self.assertFalse((Path(ws) / "fourth" / "results.h5").exists())

    def test_the_end_of_a_run_starts_the_next_without_any_call(self):
        with tempfile.TemporaryDirectory() as ws:
            cap = ("--max-running", "1")
            self.assertEqual(tool(ws, "run_parametric_study", {**HOLDS_A_SLOT, "name": "running"},
                                  *cap)[0], 0)
            for name in ("waiting", "later"):
                code, queued = tool(ws, "run_parametric_study", {**SHORT, "name": name}, *cap)
                self.assertEqual(code, 0, queued)
                self.assertFalse(queued["started"])
            # No tool call and no server from here on: each run's end starts the next, under
            # the server's cap (one at a time: the default would start both at once).
            log = Path(ws) / "later" / "run.log"
            deadline = time.time() + 120
            while not (log.exists() and "wrote results.h5" in log.read_text()):
                self.assertLess(time.time(), deadline, "the waiting studies never ran")
                time.sleep(0.2)
            time.sleep(0.5)
            for name in ("running", "waiting"):
                said = (Path(ws) / name / "run.log").read_text()
                self.assertIn("started 1 waiting study", said, name)
                self.assertNotIn("started 2", said, name)
            statuses = wait_all_ended(ws, ["waiting", "later"], *cap)
            for name in ("waiting", "later"):
                self.assertEqual(statuses[name]["status"], "COMPLETED")
                self.assertEqual(runs_started(ws, name), 1)
            self.assertLess(launched_at(ws, "waiting"), launched_at(ws, "later"))

    def test_a_killed_run_starts_the_next_once_its_ranks_are_gone(self):
        with tempfile.TemporaryDirectory() as ws:
            cap = ("--max-running", "1")
            self.assertEqual(tool(ws, "run_parametric_study",
                                  {**HOLDS_A_SLOT, "repetitions": 6, "name": "killed"}, *cap)[0], 0)
            self.assertFalse(tool(ws, "run_parametric_study", {**SHORT, "name": "next"},
                                  *cap)[1]["started"])
            deadline = time.time() + 60
            while not (Path(ws) / "killed" / "results.h5").exists():
                self.assertLess(time.time(), deadline, "the run never wrote its file")
                time.sleep(0.1)
            launch = json.loads((Path(ws) / "killed" / "launch.json").read_text())
            os.kill(launch["pid"], 9)  # mpirun, without a word; its ranks linger a while
            # No call and no server: the launcher's waiter sees mpirun end, waits for the
            # ranks to let go of the result file, then starts the next study.
            log = Path(ws) / "next" / "run.log"
            deadline = time.time() + 120
            while not (log.exists() and "wrote results.h5" in log.read_text()):
                self.assertLess(time.time(), deadline, "the waiting study never ran")
                time.sleep(0.2)
            statuses = wait_all_ended(ws, ["killed", "next"], *cap)
            self.assertEqual(statuses["killed"]["status"], "INTERRUPTED")
            self.assertEqual(statuses["next"]["status"], "COMPLETED")
            self.assertEqual(runs_started(ws, "next"), 1)

    def test_two_mcp_servers_on_one_workspace_start_each_study_exactly_once(self):
        with tempfile.TemporaryDirectory() as ws:
            options = ("--max-running", "1", "--max-calls-per-minute", "1000",
                       "--max-high-per-client", "8")
            servers = [Mcp(ws, *options), Mcp(ws, *options)]
            try:
                servers[0].call(1, "run_parametric_study", {**HOLDS_A_SLOT, "name": "s0"})
                self.assertFalse(servers[0].reply(1)[1]["result"]["isError"])
                # s1 batch, s2 high, then normal ones; the servers take turns.
                names = [f"s{i}" for i in range(1, 9)]
                priorities = ["batch", "high"] + ["normal"] * 6
                for i, (name, priority) in enumerate(zip(names, priorities)):
                    server = servers[i % 2]
                    server.call(10 + i, "run_parametric_study",
                                {**SHORT, "name": name, "priority": priority})
                    _, reply = server.reply(10 + i)
                    self.assertFalse(reply["result"]["isError"], reply)
                    self.assertFalse(reply["result"]["structuredContent"]["started"], reply)
                # Both servers look for a free slot every second, and each run's end too.
                for i, name in enumerate(["s0"] + names):
                    servers[i % 2].call(100 + i, "wait_for_study",
                                        {"study_id": name, "timeout_s": 240})
                    _, done = servers[i % 2].reply(100 + i, timeout=300)
                    status = done["result"]["structuredContent"]
                    self.assertTrue(status["finished"], status)
                    self.assertEqual(status["status"], "COMPLETED", status)
                for name in ["s0"] + names:
                    self.assertEqual(runs_started(ws, name), 1, name)
                order = sorted(["s0"] + names, key=lambda n: launched_at(ws, n))
                self.assertEqual(order, ["s0", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s1"])
                self.assertEqual(list((Path(ws) / ".fracstudy" / "queue").iterdir()), [])
            finally:
                for server in servers:
                    self.assertEqual(server.close(), 0)

    def test_a_clients_high_priority_studies_are_capped(self):
        with tempfile.TemporaryDirectory() as ws:
            cap = ("--max-running", "1", "--max-high-per-client", "1")
            self.assertEqual(tool(ws, "run_parametric_study", {**HOLDS_A_SLOT, "name": "busy"},
                                  *cap)[0], 0)
            high = {**SHORT, "priority": "high"}
            self.assertEqual(tool(ws, "run_parametric_study", {**high, "name": "h1"}, *cap,
                                  "--client", "alice")[0], 0)
            code, refused = tool(ws, "run_parametric_study", {**high, "name": "h2"}, *cap,
                                 "--client", "alice")
            self.assertEqual(code, 2, refused)
            self.assertEqual(refused["error"]["field"], "priority")
            self.assertIn("1 high-priority studies", refused["error"]["message"])
            self.assertFalse((Path(ws) / "h2").exists())
            code, other = tool(ws, "run_parametric_study", {**high, "name": "h3"}, *cap,
                               "--client", "bob")
            self.assertEqual(code, 0, other)
            self.assertEqual(tool(ws, "run_parametric_study", {**SHORT, "name": "n1"}, *cap,
                                  "--client", "alice")[0], 0)
            for name in ("n1", "h3", "h1", "busy"):
                tool(ws, "cancel_study", {"study_id": name}, *cap)
            wait_all_ended(ws, ["busy", "h1", "h3", "n1"], *cap)

    def test_the_queue_limit_refuses_with_both_caps_in_the_message(self):
        with tempfile.TemporaryDirectory() as ws:
            cap = ("--max-running", "1", "--max-queued", "1")
            self.assertEqual(tool(ws, "run_parametric_study", {**HOLDS_A_SLOT, "name": "busy"},
                                  *cap)[0], 0)
            self.assertEqual(tool(ws, "run_parametric_study", {**SHORT, "name": "w"}, *cap)[0], 0)
            code, refused = tool(ws, "run_parametric_study", {**SHORT, "name": "x"}, *cap)
            self.assertEqual(code, 2, refused)
            self.assertIn("1 studies are running", refused["error"]["message"])
            self.assertIn("1 wait in the queue", refused["error"]["message"])
            self.assertFalse((Path(ws) / "x").exists())
            tool(ws, "cancel_study", {"study_id": "w"}, *cap)
            tool(ws, "cancel_study", {"study_id": "busy"}, *cap)
            wait_all_ended(ws, ["busy", "w"], *cap)

    def test_a_waiter_cancelled_then_retried_runs_once_and_completes(self):
        with tempfile.TemporaryDirectory() as ws:
            cap = ("--max-running", "1")
            self.assertEqual(tool(ws, "run_parametric_study", {**HOLDS_A_SLOT, "name": "busy"},
                                  *cap)[0], 0)
            self.assertEqual(tool(ws, "run_parametric_study", {**SHORT, "name": "w"}, *cap)[0], 0)
            self.assertEqual(tool(ws, "cancel_study", {"study_id": "w"}, *cap)[1]["status"],
                             "CANCELLED")
            code, retried = tool(ws, "retry_failed_simulations", {"study_id": "w"}, *cap)
            self.assertEqual(code, 0, retried)
            self.assertEqual(retried["queue_position"], 1)
            code, again = tool(ws, "retry_failed_simulations", {"study_id": "w"}, *cap)
            self.assertEqual(code, 2, again)
            self.assertIn("already waits", again["error"]["message"])
            statuses = wait_all_ended(ws, ["busy", "w"], *cap)
            self.assertEqual(statuses["w"]["status"], "COMPLETED", statuses["w"])
            self.assertEqual(runs_started(ws, "w"), 1)
            self.assertGreater(launched_at(ws, "w"), launched_at(ws, "busy"))


    def test_an_entry_left_by_a_dispatcher_killed_after_the_start_is_not_started_again(self):
        with tempfile.TemporaryDirectory() as ws:
            cap = ("--max-running", "1")
            self.assertEqual(tool(ws, "run_parametric_study", {**SHORT, "values": [20000],
                                                               "name": "busy"}, *cap)[0], 0)
            self.assertEqual(tool(ws, "run_parametric_study", {**SHORT, "name": "w"}, *cap)[0], 0)
            wait_all_ended(ws, ["busy", "w"], *cap)
            # The dispatcher that started w died before it took w's entry out: the entry is
            # back, and w's launch record names it.
            token = json.loads((Path(ws) / "w" / "launch.json").read_text())["queue_token"]
            self.assertEqual(len(token), 32)
            (Path(ws) / ".fracstudy" / "queue" / "w").write_text(
                json.dumps({"priority": "normal", "sequence": 1, "client": "cli",
                            "token": token}))
            code, listed = tool(ws, "list_studies", {}, *cap)
            self.assertEqual(code, 0, listed)
            self.assertNotIn("queue_position", listed["studies"][1])
            time.sleep(1)
            self.assertEqual(runs_started(ws, "w"), 1)
            self.assertEqual(list((Path(ws) / ".fracstudy" / "queue").iterdir()), [])

    def test_on_exit_cancel_takes_the_sessions_waiting_studies_out_of_the_queue(self):
        with tempfile.TemporaryDirectory() as ws:
            mcp = Mcp(ws, "--on-exit", "cancel", "--max-running", "1")
            mcp.call(1, "run_parametric_study", {**HOLDS_A_SLOT, "name": "busy"})
            self.assertFalse(mcp.reply(1)[1]["result"]["isError"])  # calls run at once
            mcp.call(2, "run_parametric_study", {**SHORT, "name": "waiting"})
            self.assertFalse(mcp.reply(2)[1]["result"]["structuredContent"]["started"])
            self.assertEqual(mcp.close(), 0)
            statuses = wait_all_ended(ws, ["busy", "waiting"], "--max-running", "1")
            self.assertEqual(statuses["waiting"]["status"], "CANCELLED", statuses["waiting"])
            self.assertIsNone(launched_at(ws, "waiting"))
            self.assertEqual(statuses["busy"]["status"], "CANCELLED", statuses["busy"])


class QueueFaults(unittest.TestCase):
    """What a hostile workspace or an unlucky moment does to the queue (issue 18's review):
    nothing blocks, nothing existing is deleted, the server ends cleanly."""

    def test_a_retry_that_cannot_be_queued_keeps_the_study(self):
        with tempfile.TemporaryDirectory() as ws:
            cap = ("--max-running", "1")
            self.assertEqual(tool(ws, "run_parametric_study", {**HOLDS_A_SLOT, "name": "busy"},
                                  *cap)[0], 0)
            self.assertEqual(tool(ws, "run_parametric_study", {**SHORT, "name": "w"}, *cap)[0], 0)
            self.assertEqual(tool(ws, "cancel_study", {"study_id": "w"}, *cap)[0], 0)
            blocker = Path(ws) / ".fracstudy" / "queue-sequence.tmp"
            blocker.mkdir()  # the next number cannot be written
            code, failed = tool(ws, "retry_failed_simulations", {"study_id": "w"}, *cap)
            self.assertEqual(code, 1, failed)
            self.assertTrue((Path(ws) / "w" / "study.yaml").exists(), "the retry deleted it")
            blocker.rmdir()
            code, retried = tool(ws, "retry_failed_simulations", {"study_id": "w"}, *cap)
            self.assertEqual(code, 0, retried)
            statuses = wait_all_ended(ws, ["busy", "w"], *cap)
            self.assertEqual(statuses["w"]["status"], "COMPLETED", statuses["w"])

    def test_fifos_planted_in_the_queue_block_no_start(self):
        with tempfile.TemporaryDirectory() as ws:
            cap = ("--max-running", "1")
            self.assertEqual(tool(ws, "run_parametric_study", {**HOLDS_A_SLOT, "name": "busy"},
                                  *cap)[0], 0)
            queue = Path(ws) / ".fracstudy" / "queue"
            queue.mkdir(exist_ok=True)
            os.mkfifo(queue / ".w.tmp")        # the entry's temporary
            os.mkfifo(queue / "ghost")         # an "entry" of no study
            code, failed = tool(ws, "run_parametric_study", {**SHORT, "name": "w"}, *cap)
            self.assertEqual(code, 1, failed)  # refused at once, not blocked
            code, queued = tool(ws, "run_parametric_study", {**SHORT, "name": "x"}, *cap)
            self.assertEqual(code, 0, queued)
            self.assertEqual(queued["queue_position"], 1)
            tool(ws, "cancel_study", {"study_id": "x"}, *cap)
            tool(ws, "cancel_study", {"study_id": "busy"}, *cap)
            wait_all_ended(ws, ["busy", "x"], *cap)

    def test_a_planted_submission_does_not_stop_high_priority_starts(self):
        with tempfile.TemporaryDirectory() as ws:
            self.assertEqual(tool(ws, "run_parametric_study", {**SHORT, "name": "a"})[0], 0)
            wait_until_ended(ws, "a")
            (Path(ws) / "a" / "submission.json").write_text('{"client": 5, "priority": []}')
            code, high = tool(ws, "run_parametric_study", {**SHORT, "name": "b",
                                                           "priority": "high"})
            self.assertEqual(code, 0, high)
            self.assertEqual(tool(ws, "list_studies", {})[0], 0)
            wait_until_ended(ws, "b")

    def test_a_server_whose_workspace_went_ends_cleanly_on_exit_cancel(self):
        with tempfile.TemporaryDirectory() as tmp:
            ws = Path(tmp) / "ws"
            mcp = Mcp(ws, "--on-exit", "cancel")
            mcp.call(1, "run_parametric_study", {**SHORT, "name": "gone"})
            self.assertFalse(mcp.reply(1)[1]["result"]["isError"])
            wait_until_ended(ws, "gone")
            time.sleep(1)  # the run's waiter has looked at the queue
            shutil.rmtree(ws)
            self.assertEqual(mcp.close(), 0)

    def test_a_planted_queue_link_stops_neither_status_nor_cancel(self):
        with tempfile.TemporaryDirectory() as tmp:
            ws = Path(tmp) / "ws"
            self.assertEqual(tool(ws, "run_parametric_study", {**HOLDS_A_SLOT, "name": "busy"})[0],
                             0)
            elsewhere = Path(tmp) / "elsewhere"
            elsewhere.mkdir()
            queue = ws / ".fracstudy" / "queue"
            if queue.exists():
                queue.rmdir()
            queue.symlink_to(elsewhere)
            code, status = tool(ws, "check_study_status", {"study_id": "busy"})
            self.assertEqual(code, 0, status)
            self.assertTrue(status["active"])
            code, cancelled = tool(ws, "cancel_study", {"study_id": "busy"})
            self.assertEqual(code, 0, cancelled)
            self.assertTrue(cancelled["cancel_requested"])
            wait_until_inactive(ws, "busy")
            self.assertEqual(list(elsewhere.iterdir()), [])  # nothing written through it

    def test_a_fifo_as_the_call_log_blocks_no_call(self):
        with tempfile.TemporaryDirectory() as ws:
            self.assertEqual(tool(ws, "list_studies", {})[0], 0)
            calls = Path(ws) / ".fracstudy" / "calls"
            calls.unlink()
            os.mkfifo(calls)
            asked = time.time()
            code, refused = tool(ws, "list_studies", {})
            self.assertEqual(code, 1, refused)
            self.assertIn("call log", refused["error"]["message"])
            self.assertLess(time.time() - asked, 30)

    def test_on_exit_cancel_spares_a_later_retry_by_another_client(self):
        with tempfile.TemporaryDirectory() as ws:
            mcp = Mcp(ws, "--on-exit", "cancel")
            mcp.call(1, "run_parametric_study", {**HOLDS_A_SLOT, "name": "shared"})
            self.assertFalse(mcp.reply(1)[1]["result"]["isError"])
            self.assertEqual(tool(ws, "cancel_study", {"study_id": "shared"})[0], 0)
            wait_until_inactive(ws, "shared")
            code, retried = tool(ws, "retry_failed_simulations", {"study_id": "shared"})
            self.assertEqual(code, 0, retried)
            self.assertEqual(mcp.close(), 0)  # its on-exit cancel is for its own run only
            self.assertEqual(wait_until_ended(ws, "shared")["status"], "COMPLETED")

    def test_single_simulations_at_once_are_capped_per_workspace(self):
        with tempfile.TemporaryDirectory() as ws:
            options = ("--max-simulations", "1", "--max-simulation-particles", "200000")
            mcp = Mcp(ws, *options)
            try:
                mcp.call(1, "run_simulation", {"algorithm": "CCA", "seed": 515151,
                                               "parameters": {"n_particles": 200000,
                                                              "dimension": 3}}, "slow")
                deadline = time.time() + 60
                while not processes_with("515151"):
                    self.assertLess(time.time(), deadline, "the simulation did not start")
                    time.sleep(0.1)
                # Another client (a command-line call) finds the one place taken.
                code, refused = tool(ws, "run_simulation", {"algorithm": "EDEN"}, *options)
                self.assertEqual(code, 2, refused)
                self.assertIn("1 simulations of run_simulation are running",
                              refused["error"]["message"])
                mcp.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                          "params": {"requestId": 1}})
                deadline = time.time() + 10
                while processes_with("515151"):
                    self.assertLess(time.time(), deadline, "the simulation was not stopped")
                    time.sleep(0.1)
                time.sleep(0.5)  # its call has ended and let go of its place
                code, ran = tool(ws, "run_simulation", {"algorithm": "EDEN"}, *options)
                self.assertEqual(code, 0, ran)
            finally:
                self.assertEqual(mcp.close(), 0)


class FullDisk(unittest.TestCase):
    """A study that cannot be written leaves no half-made folder: its name stays free."""

    def test_a_start_on_a_full_disk_fails_cleanly_and_the_name_stays_free(self):
        with tempfile.TemporaryDirectory() as tmp:
            disk = Path(tmp) / "disk"
            disk.mkdir()
            mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs",
                                      str(disk)], capture_output=True)
            if mounted.returncode != 0:
                self.skipTest("needs root to mount a small tmpfs")
            try:
                ws = disk / "ws"
                self.assertEqual(tool(ws, "list_studies", {})[0], 0)
                filler = disk / "filler"
                fill_disk(filler)
                code, failed = tool(ws, "run_parametric_study", {**SHORT, "name": "full"})
                self.assertEqual(code, 1, failed)
                self.assertIn("No space", failed["error"]["message"])
                self.assertEqual(studies_in(ws), [])
                filler.unlink()
                code, started = tool(ws, "run_parametric_study", {**SHORT, "name": "full"})
                self.assertEqual(code, 0, started)
                self.assertEqual(wait_until_ended(ws, "full")["status"], "COMPLETED")
            finally:
                subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def processes_with(word):
    """The pids of processes with `word` as a word of their command line (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
            if entry.name.isdigit() and word.encode() in words:
                pids.append(int(entry.name))
        except OSError:
            pass
    return pids


class SingleSimulations(unittest.TestCase):
    """run_simulation: one simulation while the caller waits, beside the studies, under its
    own caps (issue 18)."""

    def test_a_3d_dla_of_5000_while_two_studies_hold_every_slot(self):
        with tempfile.TemporaryDirectory() as ws:
            cap = ("--max-running", "2", "--max-queued", "0")
            for name in ("a", "b"):
                self.assertEqual(tool(ws, "run_parametric_study",
                                      {**HOLDS_A_SLOT, "repetitions": 10, "name": name},
                                      *cap)[0], 0)
            code, refused = tool(ws, "run_parametric_study", {**SHORT, "name": "c"}, *cap)
            self.assertEqual(code, 2, refused)  # every slot is taken
            asked = time.time()
            code, result = tool(ws, "run_simulation", {"algorithm": "DLA", "seed": 1,
                                                       "parameters": {"n_particles": 5000,
                                                                      "dimension": 3}}, *cap)
            self.assertEqual(code, 0, result)
            self.assertLess(time.time() - asked, 60)
            jsonschema.validate(result, output_schema_of("run_simulation"))
            self.assertEqual(result["n_particles"], 5000)
            self.assertEqual(result["parameters"]["dimension"], 3)
            # 3D DLA: df = 2.50 (Tolman & Meakin 1989). One cluster of 5,000 reads
            # 2.26-2.89 over seeds 0-11 here (mean 2.52, SD 0.17), so 2.0-3.0 is about
            # three SDs; a 2D cluster (1.71) or a dense one (3) falls outside.
            self.assertGreater(result["df"], 2.0)
            self.assertLess(result["df"], 3.0)
            self.assertEqual(result["fit_n_max"], 5000)
            self.assertLess(result["fit_n_min"], 500)
            self.assertGreater(result["rg"], 0)
            self.assertGreater(result["kf"], 0)
            self.assertGreater(result["wall_time_s"], 0)
            # Same seed, same cluster; nothing was written to the workspace.
            self.assertEqual(tool(ws, "run_simulation", {"algorithm": "DLA", "seed": 1,
                                                         "parameters": {"n_particles": 5000,
                                                                        "dimension": 3}},
                                  *cap)[1]["df"], result["df"])
            self.assertEqual(studies_in(ws), ["a", "b"])
            for name in ("a", "b"):
                tool(ws, "cancel_study", {"study_id": name}, *cap)
            wait_all_ended(ws, ["a", "b"], *cap)

    def test_what_is_over_its_caps_is_refused_with_the_cap(self):
        with tempfile.TemporaryDirectory() as ws:
            dla = {"algorithm": "DLA", "parameters": {"n_particles": 5000, "dimension": 3}}
            code, refused = tool(ws, "run_simulation", dla, "--max-simulation-particles", "3000")
            self.assertEqual(code, 2, refused)
            self.assertEqual(refused["error"]["field"], "parameters.n_particles")
            self.assertIn("3000", refused["error"]["message"])
            code, refused = tool(ws, "run_simulation",
                                 {"algorithm": "DLA", "parameters": {"n_particles": 20001}})
            self.assertEqual(code, 2, refused)
            self.assertIn("20000", refused["error"]["message"])
            code, refused = tool(ws, "run_simulation",
                                 {"algorithm": "EDEN", "parameters": {"sticking_probability": 0.5}})
            self.assertEqual(code, 2, refused)
            self.assertEqual(refused["error"]["field"], "parameters.sticking_probability")
            code, stopped = tool(ws, "run_simulation",
                                 {"algorithm": "DLA", "parameters": {"n_particles": 20000,
                                                                     "dimension": 3}},
                                 "--simulation-time-limit", "0.02")
            self.assertEqual(code, 1, stopped)
            self.assertIn("stopped after 0.02 s", stopped["error"]["message"])
            # The brief's rate limit, per tool and per client: other tools and clients go on.
            limit = ("--rate-limit", "run_simulation=2/m", "--client", "agent")
            small = {"algorithm": "EDEN", "parameters": {"n_particles": 50}}
            for _ in range(2):
                self.assertEqual(tool(ws, "run_simulation", small, *limit)[0], 0)
            code, limited = tool(ws, "run_simulation", small, *limit)
            self.assertEqual(code, 2, limited)
            self.assertIn("at most 2 calls of run_simulation per minute",
                          limited["error"]["message"])
            self.assertEqual(tool(ws, "list_studies", {}, *limit)[0], 0)
            self.assertEqual(tool(ws, "run_simulation", small, "--rate-limit",
                                  "run_simulation=2/m", "--client", "other")[0], 0)

    def test_progress_while_it_runs_and_a_cancel_kills_it(self):
        with tempfile.TemporaryDirectory() as ws:
            mcp = Mcp(ws, "--max-simulation-particles", "200000")
            try:
                # 3D CCA of 2*10^5 monomers: about half a minute here.
                mcp.call(1, "run_simulation", {"algorithm": "CCA", "seed": 424242,
                                               "parameters": {"n_particles": 200000,
                                                              "dimension": 3}}, "sim")
                deadline = time.time() + 60
                while not mcp.notifications("sim"):
                    self.assertLess(time.time(), deadline, "no progress notification")
                    time.sleep(0.1)
                first = mcp.notifications("sim")[0]
                self.assertEqual(first["total"], 62)  # the time limit (60 s) and its grace
                self.assertIn("simulating CCA", first["message"])
                self.assertTrue(processes_with("424242"), "the simulation is not running")
                mcp.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                          "params": {"requestId": 1}})
                deadline = time.time() + 10
                while processes_with("424242"):
                    self.assertLess(time.time(), deadline, "the simulation was not stopped")
                    time.sleep(0.1)
                mcp.send({"jsonrpc": "2.0", "id": 2, "method": "ping"})
                self.assertEqual(mcp.reply(2)[1]["result"], {})
                with self.assertRaises(AssertionError):
                    mcp.reply(1, timeout=1)  # a cancelled request is not answered
            finally:
                self.assertEqual(mcp.close(), 0)


class McpWaiting(unittest.TestCase):
    """Waiting without polling: wait_for_study with progress, a server that keeps answering
    while one waits, a wait cancelled by the client, studies at the end of a session."""

    def test_wait_sends_progress_and_ping_is_answered_meanwhile(self):
        with tempfile.TemporaryDirectory() as ws:
            mcp = Mcp(ws)
            try:
                mcp.call(1, "run_parametric_study", {"algorithm": "DLA", "name": "w",
                                                     "values": [50000, 100000], "repetitions": 4})
                _, started = mcp.reply(1)
                self.assertFalse(started["result"]["isError"], started)
                mcp.call(2, "wait_for_study", {"study_id": "w", "timeout_s": 120}, "tok")
                time.sleep(0.5)
                asked = time.time()
                mcp.send({"jsonrpc": "2.0", "id": 3, "method": "ping"})
                pinged, pong = mcp.reply(3)
                self.assertEqual(pong["result"], {})
                self.assertLess(pinged - asked, 2.0)  # not held up by the wait
                waited, done = mcp.reply(2, timeout=300)
                self.assertLess(pinged, waited)
                result = done["result"]["structuredContent"]
                self.assertTrue(result["finished"])
                self.assertEqual(result["status"], "COMPLETED")
                jsonschema.validate(result, output_schema_of("wait_for_study"))
                progress = [n["progress"] for n in mcp.notifications("tok")]
                self.assertGreaterEqual(len(progress), 2, progress)
                self.assertEqual(progress, sorted(set(progress)))  # strictly increasing
                self.assertEqual(progress[-1], 8)
                self.assertTrue(all(n["total"] == 8 for n in mcp.notifications("tok")))
            finally:
                self.assertEqual(mcp.close(), 0)

    def test_a_cancelled_wait_is_not_answered_and_the_server_goes_on(self):
        with tempfile.TemporaryDirectory() as ws:
            mcp = Mcp(ws)
            try:
                mcp.call(1, "run_parametric_study", {"algorithm": "DLA", "name": "long",
                                                     "values": [100000], "repetitions": 10})
                mcp.reply(1)
                mcp.call(2, "wait_for_study", {"study_id": "long", "timeout_s": 300})
                time.sleep(0.5)
                mcp.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                          "params": {"requestId": 2, "reason": "the user gave up"}})
                mcp.call(3, "cancel_study", {"study_id": "long"})
                _, cancelled = mcp.reply(3)
                self.assertTrue(cancelled["result"]["structuredContent"]["cancel_requested"])
                mcp.call(4, "wait_for_study", {"study_id": "long", "timeout_s": 120})
                _, ended = mcp.reply(4, timeout=200)
                self.assertEqual(ended["result"]["structuredContent"]["status"], "CANCELLED")
                with self.assertRaises(AssertionError):
                    mcp.reply(2, timeout=1)  # the cancelled request got no answer
            finally:
                self.assertEqual(mcp.close(), 0)

    def test_on_exit_cancel_drains_the_sessions_studies(self):
        with tempfile.TemporaryDirectory() as ws:
            mcp = Mcp(ws, "--on-exit", "cancel")
            mcp.call(1, "run_parametric_study", {"algorithm": "DLA", "name": "left",
                                                 "values": [100000], "repetitions": 10})
            mcp.reply(1)
            self.assertEqual(mcp.close(), 0)
            self.assertTrue((Path(ws) / "left" / "cancel").exists())
            wait_until_inactive(ws, "left")
            self.assertEqual(tool(ws, "check_study_status", {"study_id": "left"})[1]["status"],
                             "CANCELLED")

    def test_results_carry_links_a_figure_and_pages_of_rows(self):
        with tempfile.TemporaryDirectory() as ws:
            mcp = Mcp(ws)
            try:
                mcp.call(1, "run_parametric_study", {"algorithm": "DLA", "name": "r",
                                                     "values": [100, 200, 300], "repetitions": 3})
                mcp.reply(1)
                mcp.call(2, "wait_for_study", {"study_id": "r", "timeout_s": 120})
                mcp.reply(2, timeout=200)
                mcp.call(3, "get_study_results", {"study_id": "r", "rows_offset": 4,
                                                  "rows_limit": 3, "figure": True})
                _, reply = mcp.reply(3)
                result = reply["result"]
                content = result["structuredContent"]
                jsonschema.validate(content, output_schema_of("get_study_results"))
                self.assertEqual([row["task_id"] for row in content["rows"]], [4, 5, 6])
                self.assertEqual(content["rows_total"], 9)
                self.assertEqual(content["next_offset"], 7)
                self.assertTrue(all(row["status"] == "COMPLETED" for row in content["rows"]))
                links = [c for c in result["content"] if c["type"] == "resource_link"]
                self.assertEqual(sorted(link["name"] for link in links), ["results.h5", "run.log"])
                for link in links:
                    self.assertTrue(link["uri"].startswith("file://"))
                    self.assertTrue(Path(link["uri"][len("file://"):]).is_file())
                images = [c for c in result["content"] if c["type"] == "image"]
                # df against n_particles, and the first repetition's saved cluster.
                self.assertEqual([Path(f).name for f in content["figure_files"]],
                                 ["df_vs_n_particles.png", "cluster_r_0.png"])
                self.assertEqual(len(images), 2)
                for image in images:
                    self.assertEqual(image["mimeType"], "image/png")
                    self.assertEqual(base64.b64decode(image["data"])[:8], b"\x89PNG\r\n\x1a\n")
                # A link planted at the figures folder is not drawn through.
                shutil.rmtree(Path(ws) / "r" / "figures")
                elsewhere = Path(ws) / "elsewhere"
                elsewhere.mkdir()
                (Path(ws) / "r" / "figures").symlink_to(elsewhere)
                mcp.call(4, "get_study_results", {"study_id": "r", "figure": True})
                _, reply = mcp.reply(4)
                self.assertEqual(reply["result"]["structuredContent"]["figure_files"], [])
                self.assertEqual(list(elsewhere.iterdir()), [])
            finally:
                self.assertEqual(mcp.close(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
