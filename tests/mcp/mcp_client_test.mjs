// Drives `fracstudy mcp` with the official MCP TypeScript SDK client, as an assistant
// would: initialize, list the tools, start a study, poll its status until COMPLETED, read
// its results, and see an invalid call come back as an isError result.
//
// Environment: FRACSTUDY_BIN (the binary), FRACSTUDY_WORKSPACE (an empty folder).
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

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
await check("tools/list lists the six tools with input schemas", async () => {
  ({ tools } = await client.listTools());
  const names = tools.map((tool) => tool.name).sort();
  assert.deepEqual(names, [
    "cancel_study", "check_study_status", "get_study_results", "list_studies",
    "retry_failed_simulations", "run_parametric_study",
  ]);
  for (const tool of tools) assert.equal(tool.inputSchema.type, "object");
});

let studyId;
await check("run_parametric_study starts a study and returns its id", async () => {
  const result = await client.callTool({
    name: "run_parametric_study",
    arguments: { algorithm: "DLA", variable_parameter: "n_particles", values: [100, 200, 300],
                 repetitions: 2, name: "sdk_sweep" },
  });
  assert.equal(result.isError, false);
  studyId = result.structuredContent.study_id;
  assert.equal(studyId, "sdk_sweep");
  assert.equal(result.structuredContent.status, "QUEUED");
  assert.equal(result.structuredContent.total_simulations, 6);
  assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent);
});

await check("check_study_status reaches COMPLETED", async () => {
  const deadline = Date.now() + 120_000;
  let status;
  do {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const result = await client.callTool({ name: "check_study_status",
                                           arguments: { study_id: studyId } });
    assert.equal(result.isError, false);
    status = result.structuredContent;
  } while (status.status !== "COMPLETED" && Date.now() < deadline);
  assert.equal(status.status, "COMPLETED");
  assert.deepEqual(status.progress,
                   { total: 6, completed: 6, failed: 0, running: 0, percentage: 100 });
});

await check("get_study_results returns one row per value with df and rg", async () => {
  const result = await client.callTool({ name: "get_study_results",
                                         arguments: { study_id: studyId } });
  const rows = result.structuredContent.results;
  assert.deepEqual(rows.map((row) => row.parameters.n_particles), [100, 200, 300]);
  for (const row of rows) {
    assert.equal(row.n_samples, 2);
    assert.ok(row.mean_df > 1.2 && row.mean_df < 2.2, `mean_df ${row.mean_df}`);
    assert.ok(row.mean_rg > 0);
  }
});

await check("invalid arguments come back as an isError result naming the field", async () => {
  const result = await client.callTool({
    name: "run_parametric_study",
    arguments: { algorithm: "DLA", values: Array(101).fill(100) },
  });
  assert.equal(result.isError, true);
  const error = JSON.parse(result.content[0].text).error;
  assert.equal(error.field, "values");
  assert.match(error.message, /at most 100 items/);
});

await check("an unknown tool is a protocol error", async () => {
  await assert.rejects(client.callTool({ name: "rm_rf", arguments: {} }), /unknown tool/i);
});

await client.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
