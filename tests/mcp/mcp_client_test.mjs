// Drives `fracstudy mcp` with the official MCP TypeScript SDK client, as an assistant
// would: initialize, list the tools, start a study, wait for it with progress
// notifications (ping answered meanwhile), read its results (validated against the tool's
// output schema, with a figure as an image), cancel a study right after its start, see a
// killed run end INTERRUPTED and retry_failed_simulations complete it, and see an invalid
// call come back as an isError result.
//
// Environment: FRACSTUDY_BIN (the binary), FRACSTUDY_WORKSPACE (an empty folder).
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import Ajv from "ajv";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const binary = process.env.FRACSTUDY_BIN;
const workspace = process.env.FRACSTUDY_WORKSPACE;
let passed = 0;
let failed = 0;

async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n${error.stack}`);
  }
}

const transport = new StdioClientTransport({
  command: binary,
  args: ["mcp", "--workspace", workspace, "--ranks", "2"],
  env: process.env, // passes the MPI settings of the test harness to the launched runs
  stderr: "inherit",
});
const client = new Client({ name: "fracstudy-sdk-test", version: "1.0.0" });
await client.connect(transport);

await check("initialize negotiates a protocol version and names the server", async () => {
  assert.equal(client.getServerVersion().name, "fracstudy");
  assert.ok(client.getServerCapabilities().tools);
});

let tools;
await check("tools/list lists the eight tools with schemas and annotations", async () => {
  ({ tools } = await client.listTools());
  const names = tools.map((tool) => tool.name).sort();
  assert.deepEqual(names, [
    "cancel_study", "check_study_status", "get_study_results", "list_studies",
    "retry_failed_simulations", "run_parametric_study", "run_simulation", "wait_for_study",
  ]);
  for (const tool of tools) {
    assert.equal(tool.inputSchema.type, "object");
    assert.equal(tool.outputSchema.type, "object");
    assert.ok(tool.title && tool.annotations.title === tool.title, tool.name);
  }
  const hints = Object.fromEntries(tools.map((tool) => [tool.name, tool.annotations]));
  for (const name of ["check_study_status", "wait_for_study", "list_studies", "get_study_results"]) {
    assert.equal(hints[name].readOnlyHint, true, name);
  }
  assert.equal(hints.cancel_study.destructiveHint, true);
  assert.equal(hints.run_parametric_study.readOnlyHint, false);
});

/** Validates a result's structured content against its tool's advertised output schema. */
const ajv = new Ajv({ strict: false });
function assertMatchesOutputSchema(toolName, structured) {
  const schema = tools.find((tool) => tool.name === toolName).outputSchema;
  const validate = ajv.compile(schema);
  assert.ok(validate(structured), `${toolName}: ${JSON.stringify(validate.errors)}`);
}

const call = (name, args) => client.callTool({ name, arguments: args });

/** wait_for_study until the study has ended; returns its last structured content. */
async function waitUntilEnded(studyId) {
  for (;;) {
    const result = await call("wait_for_study", { study_id: studyId, timeout_s: 60 });
    assert.equal(result.isError, false, JSON.stringify(result.structuredContent));
    if (result.structuredContent.finished) return result.structuredContent;
  }
}

// 48 tasks of 0.2-0.5 s: the study outlasts a checkpoint (see the progress test).
const SWEEP = [50000, 60000, 70000, 80000, 90000, 100000];
let studyId;
await check("run_parametric_study starts a study and returns its id", async () => {
  const result = await client.callTool({
    name: "run_parametric_study",
    arguments: { algorithm: "DLA", variable_parameter: "n_particles", values: SWEEP,
                 repetitions: 8, name: "sdk_sweep" },
  });
  assert.equal(result.isError, false);
  studyId = result.structuredContent.study_id;
  assert.equal(studyId, "sdk_sweep");
  assert.equal(result.structuredContent.status, "QUEUED");
  assert.equal(result.structuredContent.total_simulations, 48);
  assertMatchesOutputSchema("run_parametric_study", result.structuredContent);
  assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent);
});

await check("wait_for_study sends increasing progress, and ping is answered meanwhile",
            async () => {
  const progress = [];
  const waiting = client.callTool(
    { name: "wait_for_study", arguments: { study_id: studyId, timeout_s: 120 } },
    CallToolResultSchema,
    { onprogress: (notification) => progress.push(notification), timeout: 300_000 });
  let waitEnded = false;
  waiting.then(() => { waitEnded = true; });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await client.ping();
  const pingedDuringWait = !waitEnded;
  const result = await waiting;
  assert.equal(result.isError, false);
  const status = result.structuredContent;
  assertMatchesOutputSchema("wait_for_study", status);
  assert.equal(status.finished, true);
  assert.equal(status.status, "COMPLETED");
  assert.deepEqual(status.progress,
                   { total: 48, completed: 48, failed: 0, running: 0, percentage: 100 });
  assert.ok(pingedDuringWait, "ping waited for wait_for_study");
  // A run shows its progress at its first write and then at checkpoints (every 10 s): 48
  // tasks of 0.2-0.5 s on one worker outlast one, so progress is seen between the start and
  // the end (a run of a few seconds showed none when its first write came before its first
  // result, and the SDK drops the last notification).
  assert.ok(progress.length >= 2, `progress notifications: ${JSON.stringify(progress)}`);
  for (let i = 1; i < progress.length; i += 1) {
    assert.ok(progress[i].progress > progress[i - 1].progress, JSON.stringify(progress));
  }
  // The SDK drops a notification that arrives just before its response, so the last one
  // seen may fall short of 48.
  assert.ok(progress.every((notification) => notification.total === 48));
});

await check("get_study_results: rows valid against the output schema, links, a figure",
            async () => {
  const result = await call("get_study_results", { study_id: studyId, figure: true,
                                                   rows_limit: 3 });
  assert.equal(result.isError, false);
  assertMatchesOutputSchema("get_study_results", result.structuredContent);
  const rows = result.structuredContent.results;
  assert.deepEqual(rows.map((row) => row.parameters.n_particles), SWEEP);
  for (const row of rows) {
    assert.equal(row.n_samples, 8);
    assert.ok(row.mean_df > 1.4 && row.mean_df < 2.0, `mean_df ${row.mean_df}`);
    assert.ok(row.mean_rg > 0);
  }
  assert.deepEqual(result.structuredContent.rows.map((row) => row.task_id), [0, 1, 2]);
  assert.equal(result.structuredContent.next_offset, 3);
  const links = result.content.filter((item) => item.type === "resource_link");
  assert.deepEqual(links.map((link) => link.name).sort(), ["results.h5", "run.log"]);
  const image = result.content.find((item) => item.type === "image");
  assert.ok(image, "no image content");
  assert.equal(image.mimeType, "image/png");
  assert.equal(Buffer.from(image.data, "base64").subarray(1, 4).toString(), "PNG");
});

const longStudy = { algorithm: "DLA", values: [100000], repetitions: 10 };

await check("a cancel right after a start ends CANCELLED", async () => {
  const started = await call("run_parametric_study", { ...longStudy, name: "sdk_cancelled" });
  assert.equal(started.isError, false);
  const cancelled = await call("cancel_study", { study_id: "sdk_cancelled" });
  assert.equal(cancelled.structuredContent.cancel_requested, true);
  assertMatchesOutputSchema("cancel_study", cancelled.structuredContent);
  const status = await waitUntilEnded("sdk_cancelled");
  assert.equal(status.status, "CANCELLED");
  assert.equal(status.resumable, true);
  assert.ok(status.progress.completed < 10);
});

await check("a killed run ends INTERRUPTED and retry_failed_simulations completes it",
            async () => {
  const started = await call("run_parametric_study", { ...longStudy, name: "sdk_killed" });
  assert.equal(started.isError, false);
  const launch = JSON.parse(readFileSync(join(workspace, "sdk_killed", "launch.json"), "utf8"));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  process.kill(launch.pid, "SIGKILL"); // mpirun, as a job killed without a word
  const status = await waitUntilEnded("sdk_killed");
  assert.equal(status.status, "INTERRUPTED", JSON.stringify(status));
  assert.equal(status.resumable, true);
  assertMatchesOutputSchema("wait_for_study", status);
  const retried = await call("retry_failed_simulations", { study_id: "sdk_killed" });
  assert.equal(retried.isError, false, JSON.stringify(retried.structuredContent));
  assert.ok(retried.structuredContent.retrying > 0);
  const finished = await waitUntilEnded("sdk_killed");
  assert.equal(finished.status, "COMPLETED");
  assert.equal(finished.progress.completed, 10);
});

await check("invalid arguments come back as an isError result naming the field", async () => {
  const result = await client.callTool({
    name: "run_parametric_study",
    arguments: { algorithm: "DLA", values: Array(101).fill(100) },
  });
  assert.equal(result.isError, true);
  const error = JSON.parse(result.content[0].text).error;
  assert.deepEqual(result.structuredContent, { error }); // structured errors too
  assertMatchesOutputSchema("run_parametric_study", result.structuredContent);
  assert.equal(error.field, "values");
  assert.match(error.message, /at most 100 items/);
});

await check("run_simulation returns a 3D DLA's metrics in the same call", async () => {
  const result = await call("run_simulation", { algorithm: "DLA", seed: 3,
                                                parameters: { n_particles: 5000, dimension: 3 } });
  assert.equal(result.isError, false, JSON.stringify(result.structuredContent));
  assertMatchesOutputSchema("run_simulation", result.structuredContent);
  const simulation = result.structuredContent;
  assert.equal(simulation.n_particles, 5000);
  // 3D DLA: df 2.50; one cluster of 5,000 reads 2.26-2.89 over 12 seeds (SD 0.17).
  assert.ok(simulation.df > 2.0 && simulation.df < 3.0, `df ${simulation.df}`);
  assert.ok(simulation.fit_n_min < simulation.fit_n_max);
  const tooBig = await call("run_simulation", { algorithm: "DLA",
                                                parameters: { n_particles: 1000000 } });
  assert.equal(tooBig.isError, true);
  assert.equal(tooBig.structuredContent.error.field, "parameters.n_particles");
});

await check("an unknown tool is a protocol error", async () => {
  await assert.rejects(client.callTool({ name: "rm_rf", arguments: {} }), /unknown tool/i);
});

await client.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
