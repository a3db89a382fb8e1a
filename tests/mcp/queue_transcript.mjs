// Records a session of the official MCP TypeScript SDK client with `fracstudy mcp
// --max-running 1`: three studies started back to back (the second batch, the third high),
// their places in the queue, a waiting study cancelled, run_simulation answered while the
// slot is taken, and the order the studies ran in. Prints the JSON-RPC messages both ways
// (long strings shortened) for docs/ai-tools.md. Not a test: run it by hand.
//
//   FRACSTUDY_BIN=build/src/fracstudy FRACSTUDY_WORKSPACE=$(mktemp -d) node queue_transcript.mjs
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";

const shorten = (value) => {
  if (typeof value === "string") return value.length > 200 ? `${value.slice(0, 190)}…` : value;
  if (Array.isArray(value)) return value.map(shorten);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shorten(v)]));
  }
  return value;
};
const log = (arrow, message) => {
  if (message.result?.tools || message.method === "tools/list") return;  // as `fracstudy tools`
  if (message.result?.content) {  // the same JSON as structuredContent
    message = { ...message, result: { ...message.result, content: "(the same JSON as text)" } };
  }
  console.log(`${arrow} ${JSON.stringify(shorten(message))}`);
};

class LoggingTransport extends StdioClientTransport {
  async start() {
    const deliver = this.onmessage;
    this.onmessage = (message, extra) => { log("←", message); deliver?.(message, extra); };
    return super.start();
  }

  async send(message, options) {
    log("→", message);
    return super.send(message, options);
  }
}

const workspace = process.env.FRACSTUDY_WORKSPACE;
const transport = new LoggingTransport({
  command: process.env.FRACSTUDY_BIN,
  args: ["mcp", "--workspace", workspace, "--ranks", "2", "--max-running", "1"],
  env: process.env,
  stderr: "ignore",
});
const client = new Client({ name: "queue-transcript", version: "1.0.0" });
await client.connect(transport);
const call = (name, args, options) =>
  client.callTool({ name, arguments: args }, CallToolResultSchema, options);

await call("run_parametric_study", { algorithm: "DLA", values: [100000], repetitions: 4,
                                     base_parameters: { dimension: 3 }, name: "first" });
await call("run_parametric_study", { algorithm: "DLA", values: [2000, 4000], name: "second",
                                     priority: "batch" });
await call("run_parametric_study", { algorithm: "DLA", values: [2000, 4000], name: "third",
                                     priority: "high" });
await call("run_parametric_study", { algorithm: "CCA", values: [1000], name: "fourth" });
await call("list_studies", {});
await call("cancel_study", { study_id: "fourth" });
await call("run_simulation", { algorithm: "DLA", seed: 1,
                               parameters: { n_particles: 5000, dimension: 3 } });
for (const id of ["first", "third", "second"]) {
  await call("wait_for_study", { study_id: id, timeout_s: 120 }, { timeout: 300_000 });
}
await call("list_studies", {});
await client.close();
const launched = ["first", "second", "third"].map((id) => ({
  id, at: statSync(join(workspace, id, "launch.json")).mtimeMs,
  runs: readFileSync(join(workspace, id, "run.log"), "utf8").split("a run starts").length - 1,
}));
launched.sort((a, b) => a.at - b.at);
console.log(`# started in this order: ${launched.map((s) => `${s.id} (${s.runs} run)`).join(", ")}`);
