// Records a real session of the official MCP TypeScript SDK client with `fracstudy mcp`:
// every JSON-RPC message both ways, as the transcript in docs/ai-tools.md shows it (long
// strings shortened). Not a test: run it by hand to refresh the transcript.
//
//   FRACSTUDY_BIN=build/src/fracstudy FRACSTUDY_WORKSPACE=$(mktemp -d) node transcript.mjs
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";

const shorten = (value) => {
  if (typeof value === "string") return value.length > 160 ? `${value.slice(0, 150)}…` : value;
  if (Array.isArray(value)) return value.map(shorten);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shorten(v)]));
  }
  return value;
};
const log = (arrow, message) => {
  let shown = message;
  if (message.result?.tools) {  // the definitions are what `fracstudy tools` prints
    shown = { ...message, result: { tools: message.result.tools.map((t) => ({ name: t.name,
      title: t.title, annotations: t.annotations, "…": "description, inputSchema, outputSchema" })) } };
  }
  console.log(`${arrow} ${JSON.stringify(shorten(shown))}`);
};

/** The SDK's stdio transport, logging what goes out and (from its start) what comes in. */
class LoggingTransport extends StdioClientTransport {
  async start() {
    const deliver = this.onmessage;  // set by the client before it starts the transport
    this.onmessage = (message, extra) => { log("←", message); deliver?.(message, extra); };
    return super.start();
  }

  async send(message, options) {
    log("→", message);
    return super.send(message, options);
  }
}

const transport = new LoggingTransport({
  command: process.env.FRACSTUDY_BIN,
  args: ["mcp", "--workspace", process.env.FRACSTUDY_WORKSPACE, "--ranks", "2"],
  env: process.env,
  stderr: "ignore",
});
const client = new Client({ name: "transcript", version: "1.0.0" });
await client.connect(transport);
await client.listTools();
const call = (name, args, options) =>
  client.callTool({ name, arguments: args }, CallToolResultSchema, options);
await call("run_parametric_study", { algorithm: "DLA", values: [20000, 40000], repetitions: 3,
                                     name: "dla_demo" });
const waiting = call("wait_for_study", { study_id: "dla_demo", timeout_s: 120 },
                     { onprogress: () => {}, timeout: 300_000 });
await new Promise((resolve) => setTimeout(resolve, 200));
await client.ping();
await waiting;
await call("get_study_results", { study_id: "dla_demo", rows_limit: 1, figure: true });
await call("run_parametric_study", { algorithm: "CCA", values: [200000], name: "too_big" });
await client.close();
